import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { readRepoFile, repoRoot } from './support.js';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages; joins continuation lines and drops comments. */
function parseDockerfile(text: string): Stage[] {
  const logicalLines: string[] = [];
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full) logicalLines.push(full);
  }
  if (pending.trim()) logicalLines.push(pending.trim());

  const stages: Stage[] = [];
  for (const line of logicalLines) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const args = match?.[2] ?? '';
    if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({ from: words[0] ?? '', name: asIndex >= 0 ? words[asIndex + 1] : undefined, instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (!current) throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    current.instructions.push({ keyword, args });
  }
  return stages;
}

const stages = parseDockerfile(readRepoFile('Dockerfile'));

function stageNamed(name: string): Stage | undefined {
  return stages.find((stage) => stage.name !== undefined && stage.name.toLowerCase() === name.toLowerCase());
}

/** The stage and every stage it is built FROM, nearest first. */
function lineage(stage: Stage): Stage[] {
  const chain: Stage[] = [stage];
  let parent = stageNamed(stage.from);
  while (parent && !chain.includes(parent)) {
    chain.push(parent);
    parent = stageNamed(parent.from);
  }
  return chain;
}

/** The external image a stage finally rests on. */
function baseImage(stage: Stage): string {
  return lineage(stage).at(-1)?.from ?? '';
}

function runs(stage: Stage): string[] {
  return lineage(stage).flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args));
}

function highestEnginesMajor(): number {
  const pkg: unknown = JSON.parse(readRepoFile('package.json'));
  const range = typeof pkg === 'object' && pkg !== null && 'engines' in pkg ? (pkg.engines as { node?: unknown }).node : undefined;
  if (typeof range !== 'string') throw new Error('package.json has no engines.node');
  const majors = range.split('||').map((part) => Number(/(\d+)/.exec(part)?.[1]));
  return Math.max(...majors.filter((major) => Number.isInteger(major)));
}

const runtime = stages.at(-1);
if (!runtime) throw new Error('Dockerfile has no FROM');
const runtimeInstructions = runtime.instructions;
const major = highestEnginesMajor();

function last(keyword: string): string | undefined {
  return runtimeInstructions.filter((i) => i.keyword === keyword).at(-1)?.args;
}

describe('Dockerfile', () => {
  it(`runs on node:${major}-bookworm-slim, the highest Node major that package.json engines allow`, () => {
    expect(major).toBe(24);
    expect(runtime.from).toBe(`node:${major}-bookworm-slim`);
  });

  it(`builds every stage on node ${major}`, () => {
    for (const stage of stages) {
      expect(baseImage(stage), `FROM ${stage.from}`).toMatch(new RegExp(`^node:${major}(-|$)`));
    }
  });

  it('installs production dependencies only, built on the same base image as the runtime', () => {
    const installsProdOnly = (commands: string[]): boolean =>
      commands.some((c) => /npm ci\b[^&;]*--omit=dev/.test(c)) && !commands.some((c) => /npm ci(?![^&;]*--omit=dev)/.test(c));
    if (installsProdOnly(runs(runtime))) return;
    const copy = runtimeInstructions.find((i) => i.keyword === 'COPY' && /--from=/.test(i.args) && /node_modules/.test(i.args));
    expect(copy, 'COPY --from=<stage> ... node_modules').toBeDefined();
    const source = stageNamed(/--from=(\S+)/.exec(copy?.args ?? '')?.[1] ?? '');
    expect(source, 'the stage node_modules is copied from').toBeDefined();
    if (!source) return;
    expect(installsProdOnly(runs(source)), `stage ${source.name ?? ''} runs npm ci --omit=dev and no full npm ci`).toBe(true);
    expect(baseImage(source)).toBe(runtime.from);
  });

  it('sets NODE_ENV=production', () => {
    const env = runtimeInstructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
  });

  it('runs as a non-root user', () => {
    const user = last('USER');
    expect(user, 'USER in the runtime stage').toBeDefined();
    expect(user?.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  it('exposes port 3000 and checks /healthz with node itself', () => {
    const exposed = runtimeInstructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(['3000']);
    const healthcheck = last('HEALTHCHECK');
    expect(healthcheck).toBeDefined();
    expect(healthcheck).not.toMatch(/^NONE\b/i);
    expect(healthcheck).toMatch(/CMD \[?"?node"?/);
    expect(healthcheck).toContain('/healthz');
    expect(healthcheck).toContain('BASE_PATH');
    expect(healthcheck).not.toMatch(/\b(curl|wget)\b/);
  });

  it('ships no demo and no stand-ins for GitLab and Slack: the build stage removes them after building', () => {
    const copy = runtimeInstructions.find((i) => i.keyword === 'COPY' && /--from=/.test(i.args) && /\bdist\b/.test(i.args));
    expect(copy, 'COPY --from=<stage> ... dist').toBeDefined();
    const source = stageNamed(/--from=(\S+)/.exec(copy?.args ?? '')?.[1] ?? '');
    expect(source, 'the stage dist is copied from').toBeDefined();
    const commands = runs(source as Stage).join(' && ').split(/\s*&&\s*|\s*;\s*/);
    const built = commands.findIndex((c) => /^npm run build\b/.test(c));
    expect(built, 'npm run build').toBeGreaterThanOrEqual(0);
    const removed = (dir: string) => commands.findIndex((c, i) => i > built && /^rm\b/.test(c) && c.split(/\s+/).includes(dir));
    expect(removed('dist/demo'), 'rm -rf dist/demo after the build').toBeGreaterThan(built);
    expect(removed('dist/fakes'), 'rm -rf dist/fakes after the build').toBeGreaterThan(built);
  });

  it('can do without them: nothing else in src/ imports the demo or the stand-ins', () => {
    const files = (fs.readdirSync(path.join(repoRoot, 'src'), { recursive: true }) as string[]).filter(
      (file) => file.endsWith('.ts') && !/^(demo|fakes)[/\\]/.test(file),
    );
    expect(files.length).toBeGreaterThan(0);
    const importers = files.filter((file) => /from '(\.\.?\/)+(demo|fakes)\//.test(readRepoFile(path.join('src', file))));
    expect(importers).toEqual([]);
  });

  it('starts dist/main.js the way `npm start` does', () => {
    const start = (JSON.parse(readRepoFile('package.json')) as { scripts: { start: string } }).scripts.start;
    expect(start).toMatch(/^node .*dist\/main\.js$/);
    expect(JSON.parse(last('CMD') ?? 'null')).toEqual(start.split(' '));
  });
});

describe('.dockerignore', () => {
  const patterns = readRepoFile('.dockerignore')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.replace(/^\//, '').replace(/\/$/, ''));

  it.each(['node_modules', '.git', 'data'])('keeps %s out of the build context', (entry) => {
    expect(patterns.some((p) => p === entry || p === `**/${entry}`)).toBe(true);
  });
});
