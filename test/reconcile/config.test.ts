import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems, minimalEnv } from '../support/samples.js';

describe('the sweep’s settings', () => {
  it('runs every 5 minutes and watches only known projects unless told', () => {
    expect(loadConfig(minimalEnv).reconcile).toEqual({ intervalSeconds: 300, projects: [] });
  });

  it('takes an interval (0 turns it off) and project ids or paths', () => {
    expect(loadConfig({ ...minimalEnv, RECONCILE_INTERVAL_SECONDS: '0', GITLAB_PROJECTS: '42, acme/payments-api,acme/sub/web' }).reconcile).toEqual({
      intervalSeconds: 0,
      projects: ['42', 'acme/payments-api', 'acme/sub/web'],
    });
  });

  it.each([
    [{ RECONCILE_INTERVAL_SECONDS: 'often' }, 'RECONCILE_INTERVAL_SECONDS must be a whole number of seconds (0 turns the sweep off)'],
    [{ RECONCILE_INTERVAL_SECONDS: '-5' }, 'RECONCILE_INTERVAL_SECONDS must be 0 (off) or more'],
    [{ GITLAB_PROJECTS: 'https://gitlab.example.com/acme/web' }, 'GITLAB_PROJECTS must list project ids (42) or paths (acme/payments-api), comma-separated'],
  ])('names the mistake in %j', (env, problem) => {
    expect(configProblems({ ...minimalEnv, ...env })).toEqual([problem]);
  });
});
