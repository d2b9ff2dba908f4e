import fs from 'node:fs';
import path from 'node:path';
import type { Rule } from '../../src/domain/policy.js';
import type { SlackCall } from '../../src/fakes/slack.js';
import { reasonSubmission, sendInteraction } from '../../src/fakes/slack.js';
import { CHANNEL, SECRETS, startHarness, statusCheck, tempDir, type Harness, type HarnessOptions, type StatusCheckFixture } from './harness.js';
import { cardText } from './cards.js';

/** A second channel the fake Slack has, for rules that send their cards elsewhere. */
export const PAYMENTS_CHANNEL = 'C0PAYMENTS';

/** The rule for checks no policy rule matches, as parsePolicy takes it in tests. */
export const FALLBACK_RULE: Rule = {
  name: 'default',
  projects: ['**'],
  branches: ['**'],
  channel: 'C0DEFAULT',
  approvers: { slack: [], emails: [], gitlab: [], web: [] },
  required: 1,
  allowSelfApproval: false,
  approveWithComment: false,
};

/** Writes a policy file into a folder of its own; returns its path. */
export function writePolicy(yaml: string, dir = tempDir()): string {
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/**
 * The usual harness with POLICY_FILE set to this policy, and a fake Slack that has both the
 * default channel and PAYMENTS_CHANNEL. Stopping it removes the policy file too.
 */
export async function startWithPolicy(yaml: string, extra: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const dir = tempDir();
  const h = await startHarness({ POLICY_FILE: writePolicy(yaml, dir), ...extra }, { channels: [CHANNEL, PAYMENTS_CHANNEL], ...options });
  const stop = h.stop;
  h.stop = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return h;
}

/** The sample status check call for another project or target branch. */
export function mergeRequestInto(project: string, targetBranch: string, changes: { iid?: number } = {}): StatusCheckFixture {
  const p = statusCheck(changes);
  const webUrl = `https://gitlab.example.com/${project}`;
  Object.assign(p.project, { path_with_namespace: project, web_url: webUrl });
  Object.assign(p.object_attributes, { target_branch: targetBranch, url: `${webUrl}/-/merge_requests/${p.object_attributes.iid}` });
  return p;
}

/** Submits the approve-with-comment modal, as Slack does when the person presses Approve in it. */
export function submitComment(h: Harness, userId: string, checkId: number, comment: string | null): Promise<Response> {
  return sendInteraction(
    `${h.bot.url}/slack/events`,
    reasonSubmission({ callbackId: 'approve_comment', userId, checkId, text: comment }),
    SECRETS.signingSecret,
  );
}

/** What the bot told people privately (response_url), in order. */
export const privateReplies = (h: Harness): string[] => h.slack.calls('response_url').map((c) => String(c.body.text));

/** Waits for the `n`th private reply and returns its text. */
export async function nthPrivateReply(h: Harness, n: number): Promise<string> {
  const replies = await h.slack.waitFor('response_url', n);
  const reply = replies[n - 1] as SlackCall;
  expectEphemeral(reply);
  return String(reply.body.text);
}

function expectEphemeral(call: SlackCall): void {
  if (call.body.response_type !== 'ephemeral' || call.body.replace_original !== false) {
    throw new Error(`expected a private reply that leaves the card alone, got ${JSON.stringify(call.body)}`);
  }
}

/** Whether a card (posted or updated) carries this text. */
export const cardSays = (text: string) => (call: SlackCall) => cardText(call).includes(text);
