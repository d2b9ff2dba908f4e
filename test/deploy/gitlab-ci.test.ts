import { describe, it, expect } from 'vitest';
import { asArray, at, hasSharedSchema, isObject, readYamlFile, validateWithSharedSchema, type JsonObject } from './support.js';

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
