import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import { parsePolicy } from '../../src/policy/load.js';
import { startWithGitLabSignIn } from '../support/gitlab-sign-in.js';
import { basic, WEB_USER, type Harness } from '../support/harness.js';
import { readRepoFile } from './support.js';
import { FALLBACK_RULE } from '../support/policy.js';

/*
 * A newcomer sets the bot up from the README alone: a setting it leaves out cannot be found,
 * and one it names that the bot does not read is set in vain.
 */
const readme = readRepoFile('README.md');

/** The lines of the README between a `## heading` and the next one. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`the README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('the README', () => {
  it('describes in its Configuration table exactly the settings the bot reads', () => {
    const documented = [...section('Configuration').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...SETTINGS].sort());
  });

  it('names only settings that exist in the ConfigMap it points to', () => {
    const configMap = readRepoFile('k8s/base/configmap.yaml');
    // Commented-out keys too: they are what the operator uncomments.
    const keys = [...configMap.matchAll(/^ {2}(?:# )?([A-Z][A-Z_]+): /gm)].map((m) => m[1]);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !SETTINGS.includes(key!))).toEqual([]);
  });
});

describe('the README’s Routes table', () => {
  let h: Harness;
  beforeAll(async () => {
    // Sign in with GitLab on and the metrics on PORT: every documented route is served.
    h = await startWithGitLabSignIn({ BASE_PATH: '/approval-apps', WEB_USERS: `${WEB_USER.name}:${WEB_USER.password}` });
  });
  afterAll(async () => {
    await h.stop();
  });

  /** `METHOD /path` pairs from the table, `:id` as a check that does not exist. */
  const documented = [...section('Routes').matchAll(/^\| ([^|]+) \|/gm)]
    .flatMap((row) => [...row[1]!.matchAll(/`(GET|POST) (\/[^`]*)`/g)])
    .map(([, method, route]) => ({ method: method!, route: route!.replace(':id', '999999') }));

  it('lists the routes people and services call', () => {
    expect(documented.length).toBeGreaterThan(15);
  });

  it('names only routes the bot serves under BASE_PATH', async () => {
    const unserved: string[] = [];
    for (const { method, route } of documented) {
      const res = await fetch(`${h.bot.url}${route}`, { method, headers: { authorization: basic() }, redirect: 'manual' });
      const body = await res.text();
      // The catch-all answer for a path nothing serves.
      if (res.status === 404 && body.includes('No route for')) unserved.push(`${method} ${route}`);
    }
    expect(unserved).toEqual([]);
  });
});

describe('the README’s policy examples', () => {
  const fallback = FALLBACK_RULE;
  const examples = [...readme.matchAll(/^```yaml\n(rules:\n[\s\S]*?)^```$/gm)].map((m) => m[1]!);

  it('are there', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it('load as they are: every key they show is one the policy file takes', () => {
    for (const example of examples) expect(() => parsePolicy(example, 'README.md', fallback)).not.toThrow();
  });
});
