import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import { readRepoFile } from './support.js';

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
    const configMap = readRepoFile('k8s/configmap.yaml');
    // Commented-out keys too: they are what the operator uncomments.
    const keys = [...configMap.matchAll(/^ {2}(?:# )?([A-Z][A-Z_]+): /gm)].map((m) => m[1]);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !SETTINGS.includes(key!))).toEqual([]);
  });
});
