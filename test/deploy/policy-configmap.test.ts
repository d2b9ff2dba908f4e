import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePolicy } from '../../src/policy/load.js';
import { FALLBACK_RULE } from '../support/policy.js';

const fallback = FALLBACK_RULE;

describe('the example policy shipped in k8s/base/', () => {
  it('is a valid policy file', () => {
    const configMap = parse(fs.readFileSync(new URL('../../k8s/base/policy-configmap.yaml', import.meta.url), 'utf8')) as { data: Record<string, string> };
    const policy = parsePolicy(configMap.data['policy.yaml'] as string, 'policy.yaml', fallback);
    expect(policy.rules.map((r) => [r.name, r.required])).toEqual([
      ['payments production', 2],
      ['acme main', 1],
    ]);
    expect(policy.rules[0]).toMatchObject({ reminders: { remindAfterMs: 30 * 60_000 }, freezes: [{ reason: 'Year-end freeze' }, { reason: 'No Friday releases' }], breakGlass: { gitlab: ['cto'] } });
  });
});
