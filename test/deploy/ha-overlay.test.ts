import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace, type INamespace } from 'kubernetes-models/v1/Namespace';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { asArray, at, isObject, parseYamlDocuments, readRepoFile, readYamlFile, repoRoot, type JsonObject } from './support.js';

/*
 * Several replicas on one PostgreSQL database: the overlay turns the single SQLite pod of k8s/base
 * into a Deployment that keeps answering GitLab and Slack through a deploy or a lost node.
 */
const OVERLAY = 'k8s/overlays/ha';
const NAMESPACE = 'approval-app';
const DATABASE_SECRET = { name: 'gitlab-approval-bot-database', key: 'url' };

const validators: Record<string, (obj: JsonObject) => void> = {
  'apps/v1/Deployment': (obj) => new Deployment(obj as unknown as IDeployment).validate(),
  'policy/v1/PodDisruptionBudget': (obj) => new PodDisruptionBudget(obj as unknown as IPodDisruptionBudget).validate(),
  'v1/ConfigMap': (obj) => new ConfigMap(obj as unknown as IConfigMap).validate(),
  'v1/Namespace': (obj) => new Namespace(obj as unknown as INamespace).validate(),
  'v1/Service': (obj) => new Service(obj as unknown as IService).validate(),
  'networking.k8s.io/v1/Ingress': (obj) => new Ingress(obj as unknown as IIngress).validate(),
};

/** `kubectl kustomize <dir>`; undefined when kubectl is not installed. */
function kustomize(dir: string): JsonObject[] | undefined {
  const kubectl = spawnSync('kubectl', ['kustomize', dir], { cwd: repoRoot, encoding: 'utf8' });
  if ((kubectl.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  if (kubectl.error) throw kubectl.error;
  if (kubectl.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${kubectl.stderr}`);
  return parseYamlDocuments(kubectl.stdout, `kubectl kustomize ${dir}`).filter(isObject);
}

/**
 * The overlay with its commented-out components uncommented, as its kustomization tells an
 * operator to do, rendered from a copy of k8s/.
 */
function kustomizeWithComponents(): JsonObject[] | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ha-overlay-'));
  try {
    fs.cpSync(path.join(repoRoot, 'k8s'), path.join(dir, 'k8s'), { recursive: true });
    const file = path.join(dir, OVERLAY, 'kustomization.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const uncommented = text.replace(/^# (components:\n)((?:# {3}- .*\n)+)/m, (_all, head: string, list: string) => head + list.replace(/^# /gm, ''));
    expect(uncommented, `${OVERLAY}/kustomization.yaml has a commented-out components list`).not.toBe(text);
    fs.writeFileSync(file, uncommented);
    return kustomize(path.join(dir, OVERLAY));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ha = kustomize(OVERLAY);
const base = ha && kustomize('k8s');
if (!ha) console.warn(`kubectl is not installed: ${OVERLAY} is checked file by file, not as kustomize renders it`);

function only(objects: JsonObject[], kind: string): JsonObject {
  const found = objects.filter((obj) => obj.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0]!;
}

function named(list: unknown, name: string): JsonObject | undefined {
  return asArray(list).filter(isObject).find((item) => item.name === name);
}

/** Whether a selector of matchLabels picks pods with these labels. */
function selects(selector: unknown, labels: unknown): boolean {
  // Read as matchLabels only: an expression would need evaluating, and the overlay uses none.
  expect(at(selector, 'matchExpressions'), 'a selector with matchExpressions').toBeUndefined();
  const wanted = at(selector, 'matchLabels');
  if (!isObject(wanted) || Object.keys(wanted).length === 0 || !isObject(labels)) return false;
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

/** The parts of a pod spec the overlay does not mean to change, in a comparable order. */
function untouchedPartsOf(podSpec: unknown): JsonObject {
  const spec = structuredClone(podSpec) as JsonObject;
  delete spec.affinity;
  delete spec.topologySpreadConstraints;
  spec.volumes = asArray(spec.volumes).filter(isObject).filter((v) => !isObject(v.persistentVolumeClaim));
  spec.containers = asArray(spec.containers).filter(isObject).map((container) => ({
    ...container,
    env: asArray(container.env)
      .filter(isObject)
      .filter((v) => v.name !== 'DATABASE_PATH' && v.name !== 'DATABASE_URL')
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    volumeMounts: asArray(container.volumeMounts).filter(isObject).filter((m) => m.mountPath !== '/data'),
  }));
  return spec;
}

// Skipped without kubectl, but vitest still collects it: nothing here may throw then.
describe.runIf(ha)(`${OVERLAY} (read through kubectl kustomize)`, () => {
  const objects = ha ?? [];
  const baseObjects = base ?? [];
  const deployment = objects.find((obj) => obj.kind === 'Deployment');
  const podTemplate = at(deployment, 'spec', 'template');
  const podSpec = at(podTemplate, 'spec');
  const podLabels = at(podTemplate, 'metadata', 'labels');
  const container = named(at(podSpec, 'containers'), 'app');
  const env = at(container, 'env');
  const baseDeployment = baseObjects.find((obj) => obj.kind === 'Deployment');
  const baseContainer = named(at(baseDeployment, 'spec', 'template', 'spec', 'containers'), 'app');

  it('renders known objects only, each valid against the Kubernetes schema, in the namespace, with no Secret', () => {
    expect(objects.filter((obj) => obj.kind === 'Deployment')).toHaveLength(1);
    expect(baseObjects.filter((obj) => obj.kind === 'Deployment')).toHaveLength(1);
    for (const obj of objects) {
      const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
      const validate = validators[key];
      if (!validate) throw new Error(`unexpected object ${key} named ${String(at(obj, 'metadata', 'name'))}: add a validator for it`);
      expect(() => validate(obj), `${key} ${String(at(obj, 'metadata', 'name'))}`).not.toThrow();
      if (obj.kind !== 'Namespace') expect(at(obj, 'metadata', 'namespace'), key).toBe(NAMESPACE);
    }
    expect(objects.filter((obj) => obj.kind === 'Secret')).toEqual([]);
  });

  it('runs two replicas or more, replaced one at a time with a new pod ready before an old one stops', () => {
    expect(at(deployment, 'spec', 'replicas')).toBeGreaterThanOrEqual(2);
    expect(at(deployment, 'spec', 'strategy', 'type')).toBe('RollingUpdate');
    // Kubernetes defaults both to 25%, which with two replicas rounds maxUnavailable down to 0
    // but says nothing on purpose: spelled out, so a change of replicas cannot open a gap.
    expect(at(deployment, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable')).toBe(0);
    expect(at(deployment, 'spec', 'strategy', 'rollingUpdate', 'maxSurge')).toBe(1);
  });

  it('keeps one pod through a node drain with a PodDisruptionBudget over the Deployment’s own pods', () => {
    const budget = only(objects, 'PodDisruptionBudget');
    expect(selects(at(budget, 'spec', 'selector'), podLabels), 'the budget selects the pods').toBe(true);
    const minAvailable = at(budget, 'spec', 'minAvailable');
    expect(minAvailable).toBeGreaterThanOrEqual(1);
    // As many as the replicas, and no drain could ever evict one.
    expect(minAvailable).toBeLessThan(at(deployment, 'spec', 'replicas') as number);
    expect(at(budget, 'spec', 'maxUnavailable')).toBeUndefined();
  });

  it('spreads the replicas over nodes by pod anti-affinity on kubernetes.io/hostname, and over zones', () => {
    const antiAffinity = at(podSpec, 'affinity', 'podAntiAffinity');
    const terms = [
      ...asArray(at(antiAffinity, 'preferredDuringSchedulingIgnoredDuringExecution')).map((t) => at(t, 'podAffinityTerm')),
      ...asArray(at(antiAffinity, 'requiredDuringSchedulingIgnoredDuringExecution')),
    ];
    const onHostname = terms.filter((term) => at(term, 'topologyKey') === 'kubernetes.io/hostname');
    expect(onHostname, 'an anti-affinity term on kubernetes.io/hostname').toHaveLength(1);
    expect(selects(at(onHostname[0], 'labelSelector'), podLabels), 'it keeps apart the Deployment’s own pods').toBe(true);
    const zones = asArray(at(podSpec, 'topologySpreadConstraints')).find((c) => at(c, 'topologyKey') === 'topology.kubernetes.io/zone');
    expect(selects(at(zones, 'labelSelector'), podLabels)).toBe(true);
    // Zones are a preference: a cluster without them still runs every replica.
    expect(at(zones, 'whenUnsatisfiable')).toBe('ScheduleAnyway');
  });

  it('has no PersistentVolumeClaim, no volume that claims one and nothing mounted at /data', () => {
    expect(objects.filter((obj) => obj.kind === 'PersistentVolumeClaim')).toEqual([]);
    const volumes = asArray(at(podSpec, 'volumes')).filter(isObject);
    expect(volumes.filter((v) => v.persistentVolumeClaim !== undefined || v.ephemeral !== undefined)).toEqual([]);
    const mounts = asArray(at(container, 'volumeMounts')).filter(isObject);
    expect(mounts.filter((m) => m.mountPath === '/data')).toEqual([]);
    // Every mount still has its volume: a dangling one is refused by the API server.
    for (const mount of mounts) expect(named(volumes, String(mount.name)), `volume ${String(mount.name)}`).toBeDefined();
  });

  it(`reads DATABASE_URL from the Secret ${DATABASE_SECRET.name} (key ${DATABASE_SECRET.key}), and sets no DATABASE_PATH`, () => {
    const variable = named(env, 'DATABASE_URL');
    expect(at(variable, 'valueFrom', 'secretKeyRef')).toEqual(DATABASE_SECRET);
    expect(variable?.value, 'the URL holds the password: never in the manifest').toBeUndefined();
    expect(named(env, 'DATABASE_PATH')).toBeUndefined();
  });

  it('keeps a writable /tmp on an emptyDir under the read-only root filesystem', () => {
    expect(at(container, 'securityContext', 'readOnlyRootFilesystem')).toBe(true);
    const tmp = asArray(at(container, 'volumeMounts')).filter(isObject).find((m) => m.mountPath === '/tmp');
    expect(at(named(at(podSpec, 'volumes'), String(tmp?.name)), 'emptyDir')).toBeDefined();
  });

  it('probes readiness and liveness as the base does, so a rollout waits for a pod that answers', () => {
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/approval-apps/readyz');
    expect(at(container, 'readinessProbe')).toEqual(at(baseContainer, 'readinessProbe'));
    expect(at(container, 'livenessProbe')).toEqual(at(baseContainer, 'livenessProbe'));
  });

  it('changes nothing else of the base: security settings, secrets, resources, ports and the other objects are the same', () => {
    expect(untouchedPartsOf(podSpec)).toEqual(untouchedPartsOf(at(baseDeployment, 'spec', 'template', 'spec')));
    expect(at(podTemplate, 'metadata')).toEqual(at(baseDeployment, 'spec', 'template', 'metadata'));
    expect(at(deployment, 'metadata')).toEqual(at(baseDeployment, 'metadata'));
    expect(at(deployment, 'spec', 'selector')).toEqual(at(baseDeployment, 'spec', 'selector'));
    const ownKinds = new Set(['Deployment', 'PodDisruptionBudget', 'PersistentVolumeClaim']);
    const rest = (list: JsonObject[]) => list.filter((obj) => !ownKinds.has(String(obj.kind)));
    expect(rest(objects)).toEqual(rest(baseObjects));
  });

  it('takes the optional components of the base once uncommented in its kustomization: HTTPS and secrets per project stay available', () => {
    const composed = kustomizeWithComponents() ?? [];
    expect(composed.filter((obj) => obj.kind === 'Ingress')).toHaveLength(1);
    const composedDeployment = only(composed, 'Deployment');
    const composedSpec = at(composedDeployment, 'spec', 'template', 'spec');
    const composedContainer = named(at(composedSpec, 'containers'), 'app');
    expect(at(named(at(composedSpec, 'volumes'), 'webhook-secrets'), 'secret', 'secretName')).toBe('approval-bot-webhook-secrets');
    expect(at(named(at(composedContainer, 'env'), 'DATABASE_URL'), 'valueFrom', 'secretKeyRef')).toEqual(DATABASE_SECRET);
    expect(at(composedDeployment, 'spec', 'replicas')).toBe(at(deployment, 'spec', 'replicas'));
    expect(composed.filter((obj) => obj.kind === 'PersistentVolumeClaim')).toEqual([]);
  });
});

/*
 * Without kubectl (the pipeline's node image has none), the overlay's files are read as they are:
 * each patch must aim at what the base really has, or kustomize would fail or change nothing.
 */
describe.runIf(!ha)(`${OVERLAY} (its files as they are, kubectl not installed)`, () => {
  const kustomization = readYamlFile(`${OVERLAY}/kustomization.yaml`);
  const patches = asArray(at(kustomization, 'patches')).filter(isObject);
  const deploymentPatch = readYamlFile(`${OVERLAY}/deployment-patch.yaml`);
  const baseDeployment = readYamlFile('k8s/base/deployment.yaml');
  const claim = readYamlFile('k8s/base/pvc.yaml');

  it('builds on k8s/base and adds a valid PodDisruptionBudget that selects the base’s pods', () => {
    expect(asArray(at(kustomization, 'resources'))).toEqual(expect.arrayContaining(['../../base', 'pdb.yaml']));
    const [budget] = parseYamlDocuments(readRepoFile(`${OVERLAY}/pdb.yaml`), `${OVERLAY}/pdb.yaml`).filter(isObject);
    expect(() => validators['policy/v1/PodDisruptionBudget']!(budget!)).not.toThrow();
    expect(at(budget, 'spec', 'minAvailable')).toBeGreaterThanOrEqual(1);
    expect(at(budget, 'spec', 'minAvailable')).toBeLessThan(at(deploymentPatch, 'spec', 'replicas') as number);
    expect(selects(at(budget, 'spec', 'selector'), at(baseDeployment, 'spec', 'template', 'metadata', 'labels'))).toBe(true);
  });

  it('touches no security setting, probe or resource of the base', () => {
    const podSpec = at(deploymentPatch, 'spec', 'template', 'spec');
    expect(Object.keys(podSpec as JsonObject).sort()).toEqual(['affinity', 'containers', 'topologySpreadConstraints', 'volumes']);
    const containers = asArray(at(podSpec, 'containers')).filter(isObject);
    expect(containers.map((c) => Object.keys(c).sort())).toEqual([['env', 'name', 'volumeMounts']]);
  });

  it('deletes the base’s claim, and the volume and mount that use it', () => {
    const claimName = at(claim, 'metadata', 'name');
    const claimPatch = patches.find((p) => at(p, 'target', 'kind') === 'PersistentVolumeClaim');
    expect(at(claimPatch, 'target', 'name')).toBe(claimName);
    expect(String(claimPatch?.patch)).toMatch(/^\$patch: delete$/m);
    const baseVolumes = asArray(at(baseDeployment, 'spec', 'template', 'spec', 'volumes')).filter(isObject);
    const claimed = baseVolumes.find((v) => at(v, 'persistentVolumeClaim', 'claimName') === claimName);
    expect(named(at(deploymentPatch, 'spec', 'template', 'spec', 'volumes'), String(claimed?.name))).toEqual({ name: claimed?.name, $patch: 'delete' });
    const baseMount = asArray(at(baseDeployment, 'spec', 'template', 'spec', 'containers', 0, 'volumeMounts')).filter(isObject).find((m) => m.name === claimed?.name);
    const container = named(at(deploymentPatch, 'spec', 'template', 'spec', 'containers'), 'app');
    expect(asArray(at(container, 'volumeMounts'))).toContainEqual({ mountPath: baseMount?.mountPath, $patch: 'delete' });
    expect(named(at(container, 'env'), 'DATABASE_PATH')).toEqual({ name: 'DATABASE_PATH', $patch: 'delete' });
    expect(at(named(at(container, 'env'), 'DATABASE_URL'), 'valueFrom', 'secretKeyRef')).toEqual(DATABASE_SECRET);
  });

  it('patches the base’s Deployment to several replicas, a rolling update and anti-affinity on hostname', () => {
    const deploymentTarget = patches.find((p) => p.path === 'deployment-patch.yaml');
    expect(at(deploymentTarget, 'target')).toEqual({ kind: 'Deployment', name: at(baseDeployment, 'metadata', 'name') });
    expect(at(deploymentPatch, 'spec', 'replicas')).toBeGreaterThanOrEqual(2);
    expect(at(deploymentPatch, 'spec', 'strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const term = at(deploymentPatch, 'spec', 'template', 'spec', 'affinity', 'podAntiAffinity', 'preferredDuringSchedulingIgnoredDuringExecution', 0, 'podAffinityTerm');
    expect(at(term, 'topologyKey')).toBe('kubernetes.io/hostname');
    expect(selects(at(term, 'labelSelector'), at(baseDeployment, 'spec', 'template', 'metadata', 'labels'))).toBe(true);
  });
});

describe('the README’s "HA on PostgreSQL"', () => {
  const readme = readRepoFile('README.md');
  const start = readme.indexOf('\n### HA on PostgreSQL\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const baseDeployment = readYamlFile('k8s/base/deployment.yaml');
  const baseEnv = at(named(at(baseDeployment, 'spec', 'template', 'spec', 'containers'), 'app'), 'env');

  it('is there', () => {
    expect(start).toBeGreaterThan(0);
  });

  it('creates the Secret the overlay reads, applies the overlay and copies from the base’s database file', () => {
    expect(section).toContain(`kubectl -n ${NAMESPACE} create secret generic ${DATABASE_SECRET.name} \\\n  --from-literal=${DATABASE_SECRET.key}=`);
    expect(section).toContain(`kubectl apply -k ${OVERLAY}\n`);
    const databasePath = String(at(named(baseEnv, 'DATABASE_PATH'), 'value'));
    expect(databasePath).toBe('/data/approvals.db');
    // The runtime image has no dev dependencies to build with: the pod runs what was built, and
    // --to defaults to the pod's DATABASE_URL.
    expect(section).toContain(`kubectl -n ${NAMESPACE} exec db-copy -- node dist/db-copy.js --from ${databasePath}\n`);
    expect(section).not.toMatch(/exec db-copy -- \\?\s*(sh -c '?)?npm run/);
    expect(section).toContain(`claimName: ${String(at(readYamlFile('k8s/base/pvc.yaml'), 'metadata', 'name'))} }`);
  });

  it('runs a copy command the image ships: the whole of dist/, in the working directory /app', () => {
    const runtime = readRepoFile('Dockerfile').split(/^FROM /m).at(-1) ?? '';
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(readRepoFile('Dockerfile')).not.toMatch(/rm [^\n]*dist\/db-copy/);
  });

  it('points the deploy job at the overlay by replacing the command it runs', () => {
    const deployScript = asArray(at(readYamlFile('.gitlab-ci.yml'), 'deploy', 'script')).map(String);
    expect(deployScript).toContain('kubectl apply -k k8s');
    expect(section.replace(/\s+/g, ' ')).toContain(`replace \`kubectl apply -k k8s\` in the deploy job by \`kubectl apply -k ${OVERLAY}\``);
  });
});
