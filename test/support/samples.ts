import fs from 'node:fs';
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Check, MergeRequestEvent } from '../../src/domain/check.js';
import { statusCheckPayload, toEvent } from '../../src/gitlab/payload.js';

/** The sample status check call (test/fixtures/status-check.json) as the bot reads it. */
export const sampleEvent: MergeRequestEvent = toEvent(
  statusCheckPayload.parse(JSON.parse(fs.readFileSync(new URL('../fixtures/status-check.json', import.meta.url), 'utf8'))),
);

/** A check of the sample call, waiting, with its card posted; `changes` on top. */
export function sampleCheck(changes: Partial<Check> = {}): Check {
  return {
    ...sampleEvent,
    id: 17,
    state: 'pending',
    receivedAt: new Date('2026-11-20T09:30:02Z'),
    previousSha: null,
    decidedBy: null,
    decidedByName: null,
    decidedVia: null,
    decidedAt: null,
    reason: null,
    report: 'none',
    reportError: null,
    reportedAt: null,
    slackChannel: 'C0APPROVALS',
    slackTs: '1700000000.000100',
    cardError: null,
    approvalsRequired: 1,
    ruleName: 'default',
    approvals: [],
    ...changes,
  };
}

/** The least configuration a bot needs to start. */
export const minimalEnv = {
  GITLAB_TOKEN: 'glpat-abcdefghijklmnop',
  GITLAB_WEBHOOK_SECRET: 'shared-secret',
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  SLACK_SIGNING_SECRET: 'signing-secret',
  SLACK_CHANNEL: 'C0TEAMCHAN',
};

/** The problems loadConfig names for this environment; fails the test when it accepts it. */
export function configProblems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfig accepted the environment');
}
