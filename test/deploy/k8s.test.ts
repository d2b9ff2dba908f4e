import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace, type INamespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim, type IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { parse } from 'yaml';
import { asArray, at, isObject, parseYamlDocuments, readRepoFile, repoRoot, type JsonObject } from './support.js';

const NAMESPACE = 'approval-app';
const BASE_PATH = '/approval-apps';

/** Validates one object with the kubernetes-models schema for its apiVersion/kind. */
const validators: Record<string, (obj: JsonObject) => void> = {
  'apps/v1/Deployment': (obj) => new Deployment(obj as unknown as IDeployment).validate(),
  'v1/ConfigMap': (obj) => new ConfigMap(obj as unknown as IConfigMap).validate(),
  'v1/Namespace': (obj) => new Namespace(obj as unknown as INamespace).validate(),
  'v1/PersistentVolumeClaim': (obj) => new PersistentVolumeClaim(obj as unknown as IPersistentVolumeClaim).validate(),
  'v1/Service': (obj) => new Service(obj as unknown as IService).validate(),
};
const clusterScopedKinds = new Set(['Namespace']);

// The fallback reads the listed files as they are, so it only understands these keys.
const kustomizationKeysTheFallbackHandles = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images']);

function render(): { objects: JsonObject[]; how: string } {
  const kubectl = spawnSync('kubectl', ['kustomize', 'k8s'], { cwd: repoRoot, encoding: 'utf8' });
  const notInstalled = (kubectl.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  if (!notInstalled) {
    if (kubectl.error) throw kubectl.error;
    if (kubectl.status !== 0) throw new Error(`kubectl kustomize k8s failed:\n${kubectl.stderr}`);
    return { objects: parseYamlDocuments(kubectl.stdout, 'kubectl kustomize k8s').filter(isObject), how: 'kubectl kustomize' };
  }
  return { objects: listedIn('k8s'), how: 'the files listed in k8s/kustomization.yaml and the folders it names' };
}

/** The objects of the files a kustomization lists, following a folder to its own kustomization. */
function listedIn(dir: string): JsonObject[] {
  const kustomization: unknown = parse(readRepoFile(`${dir}/kustomization.yaml`));
  if (!isObject(kustomization)) throw new Error(`${dir}/kustomization.yaml is not a mapping`);
  const unhandled = Object.keys(kustomization).filter((key) => !kustomizationKeysTheFallbackHandles.has(key));
  if (unhandled.length > 0) {
    throw new Error(`kubectl is not installed and ${dir}/kustomization.yaml uses ${unhandled.join(', ')}, which this test cannot apply by itself`);
  }
  return asArray(kustomization.resources).flatMap((entry) => {
    if (typeof entry !== 'string') throw new Error(`${dir}/kustomization.yaml lists a resource that is not a path: ${JSON.stringify(entry)}`);
    const resource = path.posix.join(dir, entry);
    if (fs.statSync(path.join(repoRoot, resource)).isDirectory()) return listedIn(resource);
    return parseYamlDocuments(readRepoFile(resource), resource).filter(isObject);
  });
}

const { objects, how } = render();

function only(kind: string): JsonObject {
  const found = objects.filter((obj) => obj.kind === kind);
  expect(found, `exactly one ${kind} in ${how}`).toHaveLength(1);
  const [first] = found;
  if (!first) throw new Error(`no ${kind}`);
  return first;
}

function named(list: unknown, name: string): JsonObject | undefined {
  return asArray(list).filter(isObject).find((item) => item.name === name);
}

const deployment = only('Deployment');
const podSpec = at(deployment, 'spec', 'template', 'spec');
const container = at(podSpec, 'containers', 0);
const env = at(container, 'env');

describe(`k8s/ (read through ${how})`, () => {
  it('renders known objects only, each valid against the Kubernetes schema', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const obj of objects) {
      const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
      const validate = validators[key];
      if (!validate) throw new Error(`unexpected object ${key} named ${String(at(obj, 'metadata', 'name'))}: add a validator for it`);
      expect(() => validate(obj), `${key} ${String(at(obj, 'metadata', 'name'))}`).not.toThrow();
    }
  });

  it(`puts every namespaced object in ${NAMESPACE} and creates that namespace`, () => {
    for (const obj of objects) {
      if (clusterScopedKinds.has(String(obj.kind))) continue;
      expect(at(obj, 'metadata', 'namespace'), `${String(obj.kind)} ${String(at(obj, 'metadata', 'name'))}`).toBe(NAMESPACE);
    }
    expect(at(only('Namespace'), 'metadata', 'name')).toBe(NAMESPACE);
  });

  it('commits no Secret: those are created by hand in the cluster', () => {
    expect(objects.filter((obj) => obj.kind === 'Secret')).toEqual([]);
  });

  it('runs one pod at a time, replacing it with Recreate because SQLite sits on a ReadWriteOnce volume', () => {
    expect(at(deployment, 'metadata', 'name')).toBe('gitlab-approval-bot');
    expect(at(deployment, 'spec', 'replicas')).toBe(1);
    expect(at(deployment, 'spec', 'strategy', 'type')).toBe('Recreate');
    expect(at(podSpec, 'terminationGracePeriodSeconds')).toBe(30);
  });

  it('uses the image name that kustomize retags', () => {
    expect(String(at(container, 'image'))).toMatch(/(^|\/)gitlab-approval-bot(:[\w.-]+)?$/);
  });

  it('runs as a non-root user with a read-only root filesystem and no privileges', () => {
    expect(at(podSpec, 'automountServiceAccountToken')).toBe(false);
    const pod = at(podSpec, 'securityContext');
    expect(at(pod, 'runAsNonRoot')).toBe(true);
    expect(at(pod, 'runAsUser')).toBe(1000);
    expect(at(pod, 'runAsGroup')).toBe(1000);
    expect(at(pod, 'fsGroup')).toBe(1000);
    expect(at(pod, 'seccompProfile', 'type')).toBe('RuntimeDefault');
    const own = at(container, 'securityContext');
    expect(at(own, 'allowPrivilegeEscalation')).toBe(false);
    expect(at(own, 'readOnlyRootFilesystem')).toBe(true);
    expect(at(own, 'capabilities', 'drop')).toEqual(['ALL']);
    expect(at(own, 'privileged')).not.toBe(true);
    expect(at(own, 'runAsUser') ?? at(pod, 'runAsUser')).not.toBe(0);
  });

  it('sets resource requests and limits', () => {
    for (const part of ['requests', 'limits']) {
      expect(at(container, 'resources', part, 'cpu'), `${part}.cpu`).toBeDefined();
      expect(at(container, 'resources', part, 'memory'), `${part}.memory`).toBeDefined();
    }
  });

  it(`probes liveness on ${BASE_PATH}/healthz and readiness on ${BASE_PATH}/readyz, on the app's port`, () => {
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe(`${BASE_PATH}/healthz`);
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe(`${BASE_PATH}/readyz`);
    const ports = asArray(at(container, 'ports')).filter(isObject);
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      const port = at(container, probe, 'httpGet', 'port');
      const resolved = typeof port === 'number' ? port : ports.find((p) => p.name === port)?.containerPort;
      expect(resolved, probe).toBe(3000);
    }
  });

  it('keeps the database on a ReadWriteOnce claim mounted at /data and gives /tmp an emptyDir', () => {
    const dataMount = asArray(at(container, 'volumeMounts')).filter(isObject).find((m) => m.mountPath === '/data');
    expect(dataMount, 'a volume mounted at /data').toBeDefined();
    const dataVolume = named(at(podSpec, 'volumes'), String(dataMount?.name));
    const claimName = at(dataVolume, 'persistentVolumeClaim', 'claimName');
    const claim = objects.find((obj) => obj.kind === 'PersistentVolumeClaim' && at(obj, 'metadata', 'name') === claimName);
    expect(claim, `PersistentVolumeClaim ${String(claimName)}`).toBeDefined();
    expect(at(claim, 'spec', 'accessModes')).toEqual(['ReadWriteOnce']);

    const tmpMount = asArray(at(container, 'volumeMounts')).filter(isObject).find((m) => m.mountPath === '/tmp');
    expect(at(named(at(podSpec, 'volumes'), String(tmpMount?.name)), 'emptyDir')).toBeDefined();
  });

  it('configures the base path and database path the app expects', () => {
    expect(at(named(env, 'BASE_PATH'), 'value')).toBe(BASE_PATH);
    expect(at(named(env, 'DATABASE_PATH'), 'value')).toBe('/data/approvals.db');
  });

  it('reads every secret from Secrets, the GitLab token from gitlab-token', () => {
    expect(at(named(env, 'GITLAB_TOKEN'), 'valueFrom', 'secretKeyRef')).toEqual({ name: 'gitlab-token', key: 'token' });
    const fromBotSecrets: Record<string, string> = {
      SLACK_BOT_TOKEN: 'slack-bot-token',
      SLACK_SIGNING_SECRET: 'slack-signing-secret',
      GITLAB_WEBHOOK_SECRET: 'gitlab-webhook-secret',
    };
    for (const [name, key] of Object.entries(fromBotSecrets)) {
      expect(at(named(env, name), 'valueFrom', 'secretKeyRef'), name).toEqual({ name: 'approval-bot-secrets', key });
    }
    for (const variable of asArray(env).filter(isObject)) {
      if (/TOKEN|SECRET|WEB_USERS/.test(String(variable.name))) {
        expect(variable.value, `${String(variable.name)} must not be written in the manifest`).toBeUndefined();
      }
    }
  });

  it('passes the optional secrets from approval-bot-secrets only when the Secret has them', () => {
    const optional: Record<string, string> = {
      SLACK_APP_TOKEN: 'slack-app-token',
      WEB_USERS: 'web-users',
      GITLAB_OAUTH_CLIENT_SECRET: 'gitlab-oauth-client-secret',
      SESSION_SECRET: 'session-secret',
    };
    for (const [name, key] of Object.entries(optional)) {
      expect(at(named(env, name), 'valueFrom', 'secretKeyRef'), name).toEqual({ name: 'approval-bot-secrets', key, optional: true });
    }
  });

  it('passes every key of the approval-bot-config ConfigMap (envFrom), which holds no secret', () => {
    const config = objects.find((obj) => obj.kind === 'ConfigMap' && at(obj, 'metadata', 'name') === 'approval-bot-config');
    expect(config, 'ConfigMap approval-bot-config').toBeDefined();
    // Set per key, a setting added to the ConfigMap (PUBLIC_URL, POLICY_FILE…) would do nothing.
    expect(at(container, 'envFrom')).toEqual([{ configMapRef: { name: 'approval-bot-config' } }]);
    const keys = Object.keys((at(config, 'data') ?? {}) as JsonObject);
    expect(keys).toEqual(expect.arrayContaining(['SLACK_CHANNEL', 'APPROVERS', 'GITLAB_URL']));
    // A committed ConfigMap is readable by anyone who can read the repository.
    expect(keys.filter((key) => /TOKEN|SECRET|PASSWORD|WEB_USERS/.test(key))).toEqual([]);
    // What env sets wins over envFrom: no ConfigMap key may be shadowed by a secret or a fixed value unnoticed.
    const fixed = asArray(env).filter(isObject).map((variable) => String(variable.name));
    expect(keys.filter((key) => fixed.includes(key))).toEqual([]);
    for (const variable of asArray(env).filter(isObject)) {
      const ref = at(variable, 'valueFrom', 'configMapKeyRef');
      if (!isObject(ref) || ref.optional === true) continue;
      const configMap = objects.find((obj) => obj.kind === 'ConfigMap' && at(obj, 'metadata', 'name') === ref.name);
      expect(at(configMap, 'data', String(ref.key)), `${String(variable.name)} from ${String(ref.name)}`).toBeTypeOf('string');
    }
  });

  it('ships a policy ConfigMap with an example and mounts it read-only', () => {
    const volume = asArray(at(podSpec, 'volumes')).filter(isObject).find((v) => isObject(v.configMap));
    const configMapName = at(volume, 'configMap', 'name');
    const policyMap = objects.find((obj) => obj.kind === 'ConfigMap' && at(obj, 'metadata', 'name') === configMapName);
    const policy: unknown = parse(String(at(policyMap, 'data', 'policy.yaml')));
    // Its content is checked against the policy schema in policy-configmap.test.ts.
    expect(asArray(at(policy, 'rules')).length).toBeGreaterThan(0);
    const mount = asArray(at(container, 'volumeMounts')).filter(isObject).find((m) => m.name === volume?.name);
    expect(mount?.readOnly).toBe(true);
  });

  it('exposes the pod through a LoadBalancer on port 80', () => {
    const service = only('Service');
    expect(at(service, 'spec', 'type')).toBe('LoadBalancer');
    const port = at(service, 'spec', 'ports', 0);
    expect(at(port, 'port')).toBe(80);
    const target = at(port, 'targetPort');
    const ports = asArray(at(container, 'ports')).filter(isObject);
    const resolved = typeof target === 'number' ? target : ports.find((p) => p.name === target)?.containerPort;
    expect(resolved).toBe(3000);
    const selector = at(service, 'spec', 'selector');
    expect(isObject(selector) && Object.keys(selector).length > 0).toBe(true);
    expect(at(deployment, 'spec', 'template', 'metadata', 'labels')).toMatchObject(selector as JsonObject);
  });
});

describe('metrics on a port of their own', () => {
  it('serves /metrics on the metrics port, scraped by annotation, and the Service exposes only the app port', () => {
    const ports = asArray(at(container, 'ports')).filter(isObject);
    const metricsPort = ports.find((p) => p.name === 'metrics')?.containerPort;
    expect(metricsPort).toBe(9090);
    expect(at(named(env, 'METRICS_PORT'), 'value')).toBe(String(metricsPort));
    expect(at(deployment, 'spec', 'template', 'metadata', 'annotations')).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(metricsPort),
      'prometheus.io/path': '/metrics',
    });
    const service = only('Service');
    const targets = asArray(at(service, 'spec', 'ports'))
      .filter(isObject)
      .map((p) => (typeof p.targetPort === 'number' ? p.targetPort : ports.find((c) => c.name === p.targetPort)?.containerPort));
    expect(targets).toEqual([3000]);
  });

  it('keeps the Ingress out of the base: HTTPS is an optional component', () => {
    expect(objects.filter((obj) => obj.kind === 'Ingress')).toEqual([]);
  });
});

/**
 * The base with the ingress-tls component, as an operator's overlay in k8s/overlays/ would build it
 * (kubectl kustomize of k8s/base and the component), or, without kubectl, the component's own files.
 */
function renderWithIngress(): { objects: JsonObject[]; how: string } {
  const overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-'));
  try {
    const k8s = path.relative(overlay, path.join(repoRoot, 'k8s'));
    fs.writeFileSync(
      path.join(overlay, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${k8s}/base\ncomponents:\n  - ${k8s}/components/ingress-tls\n`,
    );
    const kubectl = spawnSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
    if ((kubectl.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      const file = 'k8s/components/ingress-tls/ingress.yaml';
      return { objects: parseYamlDocuments(readRepoFile(file), file).filter(isObject), how: file };
    }
    if (kubectl.status !== 0) throw new Error(`kubectl kustomize of an overlay with the ingress-tls component failed:\n${kubectl.stderr}`);
    return { objects: parseYamlDocuments(kubectl.stdout, 'the overlay').filter(isObject), how: 'kubectl kustomize of an overlay with the component' };
  } finally {
    fs.rmSync(overlay, { recursive: true, force: true });
  }
}

describe('k8s/components/ingress-tls', () => {
  const withIngress = renderWithIngress();
  const ingresses = withIngress.objects.filter((obj) => obj.kind === 'Ingress');

  it(`adds one valid Ingress for ${BASE_PATH}, with TLS from cert-manager (${withIngress.how})`, () => {
    expect(ingresses).toHaveLength(1);
    const ingress = ingresses[0]!;
    expect(() => new Ingress(ingress as unknown as IIngress).validate()).not.toThrow();
    expect(at(ingress, 'metadata', 'namespace')).toBe(NAMESPACE);
    expect(at(ingress, 'metadata', 'annotations', 'cert-manager.io/cluster-issuer')).toBeTypeOf('string');
    const rule = at(ingress, 'spec', 'rules', 0);
    const host = at(rule, 'host');
    expect(at(ingress, 'spec', 'tls', 0, 'hosts')).toEqual([host]);
    expect(at(ingress, 'spec', 'tls', 0, 'secretName')).toBeTypeOf('string');
    const route = at(rule, 'http', 'paths', 0);
    expect(at(route, 'path')).toBe(BASE_PATH);
    expect(at(route, 'pathType')).toBe('Prefix');
    // It reaches the app's port through the Service, never the metrics port.
    const service = only('Service');
    expect(at(route, 'backend', 'service', 'name')).toBe(at(service, 'metadata', 'name'));
    const portName = at(route, 'backend', 'service', 'port', 'name');
    expect(asArray(at(service, 'spec', 'ports')).filter(isObject).map((p) => p.name)).toContain(portName);
  });

  it.runIf(withIngress.how.startsWith('kubectl'))('turns the Service into a ClusterIP: behind the Ingress it needs no address of its own', () => {
    const services = withIngress.objects.filter((obj) => obj.kind === 'Service');
    expect(services).toHaveLength(1);
    expect(at(services[0], 'spec', 'type')).toBe('ClusterIP');
    expect(withIngress.objects.filter((obj) => obj.kind === 'Deployment')).toHaveLength(1);
  });
});
