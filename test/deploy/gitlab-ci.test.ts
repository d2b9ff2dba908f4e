import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { parseDocument } from 'yaml';
import { asArray, at, hasSharedSchema, isObject, parseYamlDocuments, readYamlFile, repoRoot, validateWithSharedSchema, type JsonObject } from './support.js';

const SCHEMA = 'gitlab-ci.schema.json';

// Top-level keys that are not jobs (https://docs.gitlab.com/ci/yaml/).
const globalKeywords = new Set([
  'stages', 'variables', 'default', 'workflow', 'include', 'image', 'services',
  'cache', 'before_script', 'after_script', 'spec', 'pages',
]);

const config = readYamlFile('.gitlab-ci.yml');
if (!isObject(config)) throw new Error('.gitlab-ci.yml is not a mapping');

const jobs: [string, JsonObject][] = Object.entries(config).flatMap(([name, job]) =>
  globalKeywords.has(name) || name.startsWith('.') || !isObject(job) ? [] : [[name, job] as [string, JsonObject]],
);

function jobsIn(stage: string): [string, JsonObject][] {
  return jobs.filter(([, job]) => job.stage === stage);
}

function onlyJobIn(stage: string): JsonObject {
  const found = jobsIn(stage);
  expect(found, `one job in stage ${stage}`).toHaveLength(1);
  const [first] = found;
  if (!first) throw new Error(`no job in stage ${stage}`);
  return first[1];
}

/** The job's commands, one string per script line. */
function script(job: JsonObject): string[] {
  return [...asArray(job.before_script), ...asArray(job.script)].map(String);
}

/** The one job of a stage whose script runs `command`, with its name. */
function jobRunning(stage: string, command: string): [string, JsonObject] {
  const found = jobsIn(stage).filter(([, job]) => script(job).includes(command));
  expect(found, `one job in stage ${stage} runs ${command}`).toHaveLength(1);
  const [first] = found;
  if (!first) throw new Error(`no job in stage ${stage} runs ${command}`);
  return first;
}

function imageName(job: JsonObject): string {
  const image = job.image;
  return String(isObject(image) ? image.name : image);
}

describe.skipIf(!hasSharedSchema(SCHEMA))('.gitlab-ci.yml against ../shared/schemas/gitlab-ci.schema.json', () => {
  it('is valid', () => {
    expect(validateWithSharedSchema(SCHEMA, config)).toEqual([]);
  });
});

describe('.gitlab-ci.yml', () => {
  it('runs the stages test, build, deploy in that order', () => {
    expect(config.stages).toEqual(['test', 'build', 'deploy']);
    for (const [name, job] of jobs) {
      expect(['test', 'build', 'deploy'], `stage of job ${name}`).toContain(job.stage);
    }
  });

  it('tests on Node 24 with npm ci and npm test', () => {
    const [, job] = jobRunning('test', 'npm test');
    const lines = script(job);
    expect(lines.some((line) => /^npm ci\b/.test(line))).toBe(true);
    expect(lines).toContain('npm test');
    const matrix = asArray(at(job, 'parallel', 'matrix')).filter(isObject);
    const nodeVersions = matrix.flatMap((entry) => asArray(entry.NODE_VERSION).map(String));
    const images = imageName(job).includes('${NODE_VERSION}')
      ? nodeVersions.map((version) => imageName(job).replace('${NODE_VERSION}', version))
      : [imageName(job)];
    expect(images).toContain('node:24');
  });

  it('audits the runtime dependencies on Node 24 before anything is built', () => {
    const [name, job] = jobRunning('test', 'npm audit --omit=dev --audit-level=high');
    expect(imageName(job)).toBe('node:24');
    expect(asArray(onlyJobIn('build').needs).map(String)).toContain(name);
  });

  it('builds without a Docker daemon and pushes the commit-tagged image with the job credentials', () => {
    const job = onlyJobIn('build');
    expect(imageName(job)).toMatch(/buildah|kaniko/);
    expect(JSON.stringify(job.services ?? [])).not.toMatch(/dind/);
    const text = script(job).join('\n');
    expect(text).toContain('$CI_REGISTRY_USER');
    expect(text).toContain('$CI_REGISTRY_PASSWORD');
    const imageRef = String(at(config, 'variables', 'IMAGE_REF') ?? at(job, 'variables', 'IMAGE_REF'));
    expect(imageRef).toBe('$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA');
    expect(text).toMatch(/push "?\$IMAGE_REF"?/);
  });

  it('deploys only from the default branch, through the agent context named by KUBE_CONTEXT', () => {
    const job = onlyJobIn('deploy');
    const rules = asArray(job.rules).filter(isObject);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      if (rule.when === 'never') continue;
      expect(String(rule.if)).toContain('$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH');
    }
    expect(job.only).toBeUndefined();
    expect(job.environment).toBeDefined();
    const lines = script(job);
    expect(lines).toContain('kubectl config use-context "$KUBE_CONTEXT"');
    const text = lines.join('\n');
    expect(text).toContain('gitlab-approval-bot=$IMAGE_REF');
    expect(text).toMatch(/kubectl apply -k /);
    expect(text).toMatch(/kubectl -n approval-app rollout status deployment\/gitlab-approval-bot --timeout=\d+s/);
  });
});

/*
 * The deploy job sets the image in one kustomization and applies another: the image must reach
 * what is applied, and every overlay an operator may apply instead (k8s/overlays/*).
 */
describe('the image the deploy job sets', () => {
  const lines = script(onlyJobIn('deploy'));
  const setImage = lines.map((line) => /^\(cd (\S+) && kustomize edit set image "gitlab-approval-bot=\$IMAGE_REF"\)$/.exec(line)?.[1]).find(Boolean);
  const applied = lines.map((line) => /^kubectl apply -k (\S+)$/.exec(line)?.[1]).find(Boolean);
  const overlays = fs
    .readdirSync(path.join(repoRoot, 'k8s/overlays'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `k8s/overlays/${entry.name}`);
  const targets = [String(applied), ...overlays];

  it('is set in k8s/base, from the repository root, and k8s/ is applied', () => {
    expect(setImage).toBe('k8s/base');
    expect(applied).toBe('k8s');
    // A `cd` that stays would move every later path off the repository root.
    expect(lines.filter((line) => /^cd\b/.test(line))).toEqual([]);
    expect(overlays).toContain('k8s/overlays/ha');
  });

  it.each(targets)('reaches %s, whose resources lead to the base', (target) => {
    expect(kustomizationsUnder(target)).toContain(String(setImage));
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  it.runIf(kubectl.status === 0).each(targets)('is the image of every container %s renders (kubectl kustomize)', (target) => {
    const image = 'registry.example.com/acme/gitlab-approval-bot:0123abcd';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'set-image-'));
    try {
      fs.cpSync(path.join(repoRoot, 'k8s'), path.join(dir, 'k8s'), { recursive: true });
      setImageAsKustomizeEditDoes(path.join(dir, String(setImage)), 'gitlab-approval-bot', image);
      const rendered = spawnSync('kubectl', ['kustomize', path.join(dir, target)], { encoding: 'utf8' });
      if (rendered.status !== 0) throw new Error(`kubectl kustomize ${target} failed:\n${rendered.stderr}`);
      const deployments = parseYamlDocuments(rendered.stdout, target).filter(isObject).filter((obj) => obj.kind === 'Deployment');
      expect(deployments).toHaveLength(1);
      const containers = asArray(at(deployments[0], 'spec', 'template', 'spec', 'containers'));
      expect(containers.length).toBeGreaterThan(0);
      for (const container of containers) expect(at(container, 'image')).toBe(image);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The folder of every kustomization a kustomization's resources lead to, itself included. */
function kustomizationsUnder(dir: string): string[] {
  const kustomization = readYamlFile(`${dir}/kustomization.yaml`);
  const folders = asArray(at(kustomization, 'resources'))
    .map((entry) => path.posix.join(dir, String(entry)))
    .filter((resource) => fs.statSync(path.join(repoRoot, resource)).isDirectory());
  return [dir, ...folders.flatMap(kustomizationsUnder)];
}

/**
 * What `kustomize edit set image name=newName:newTag` writes (kustomize itself is not installed
 * here; kubectl only builds): the entry for that name in the kustomization's images.
 */
function setImageAsKustomizeEditDoes(dir: string, name: string, ref: string): void {
  const file = path.join(dir, 'kustomization.yaml');
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  const colon = ref.lastIndexOf(':');
  const entry = { name, newName: ref.slice(0, colon), newTag: ref.slice(colon + 1) };
  const others = asArray(doc.toJS()?.images).filter((image) => at(image, 'name') !== name);
  doc.set('images', [...others, entry]);
  fs.writeFileSync(file, doc.toString());
}
