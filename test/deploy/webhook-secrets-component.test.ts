import { describe, expect, it } from 'vitest';
import { parseSecretsFile } from '../../src/gitlab/secrets.js';
import { asArray, at, isObject, readRepoFile, readYamlFile } from './support.js';

const DIR = 'k8s/components/webhook-secrets-file';

describe('the k8s component for webhook secrets per project', () => {
  const patch = readYamlFile(`${DIR}/deployment-patch.yaml`);
  const container = asArray(at(patch, 'spec', 'template', 'spec', 'containers')).filter(isObject)[0];
  const env = asArray(at(container, 'env')).filter(isObject);

  it('mounts the Secret approval-bot-webhook-secrets read-only where GITLAB_WEBHOOK_SECRETS_FILE points', () => {
    const file = String(env.find((v) => v.name === 'GITLAB_WEBHOOK_SECRETS_FILE')?.value);
    const volume = asArray(at(patch, 'spec', 'template', 'spec', 'volumes')).filter(isObject).find((v) => at(v, 'secret', 'secretName') === 'approval-bot-webhook-secrets');
    expect(volume).toBeDefined();
    const mount = asArray(at(container, 'volumeMounts')).filter(isObject).find((m) => m.name === volume?.name);
    expect(mount?.readOnly).toBe(true);
    expect(file).toBe(`${String(mount?.mountPath)}/webhook-secrets.yaml`);
  });

  it('makes the shared GITLAB_WEBHOOK_SECRET optional, still from approval-bot-secrets', () => {
    expect(at(env.find((v) => v.name === 'GITLAB_WEBHOOK_SECRET'), 'valueFrom', 'secretKeyRef')).toEqual({ name: 'approval-bot-secrets', key: 'gitlab-webhook-secret', optional: true });
  });

  it('is a kustomize Component that patches the Deployment', () => {
    const kustomization = readYamlFile(`${DIR}/kustomization.yaml`);
    expect(at(kustomization, 'kind')).toBe('Component');
    expect(at(asArray(at(kustomization, 'patches'))[0], 'target')).toEqual({ kind: 'Deployment', name: 'gitlab-approval-bot' });
  });

  it('ships an example secrets file that the bot reads', () => {
    const entries = parseSecretsFile(readRepoFile(`${DIR}/webhook-secrets.example.yaml`));
    expect(entries.map((e) => e.projects)).toEqual([['acme/payments-*'], ['acme/web', 'acme/docs'], ['acme/**']]);
  });
});
