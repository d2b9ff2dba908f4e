import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUTHOR } from '../../src/fakes/gitlab.js';
import type { SlackCall } from '../../src/fakes/slack.js';
import { loadConfig } from '../../src/config.js';
import { APPROVER, startHarness, type Harness } from '../support/harness.js';
import { mergeRequestInto, startWithPolicy } from '../support/policy.js';
import { configProblems, minimalEnv } from '../support/samples.js';

/** The merge request author's Slack account (their Slack e-mail is their GitLab public e-mail). */
const AUTHOR = 'U0AUTHOR';
const said = (c: SlackCall) => `${String(c.body.text)}\n${JSON.stringify(c.body.blocks)}`;

/** Waits until the audit trail of a check holds this event (the outbox worked through it). */
async function audited(h: Harness, checkId: number, event: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId })).some((e) => e.event === event)) {
    if (Date.now() > deadline) throw new Error(`check ${checkId} never got the audit event ${event}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the outbox holds nothing: every delivery was made, none failed for good. */
async function outboxEmpty(h: Harness): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = await h.bot.store.deliveryStats(Date.now());
    expect(stats.failed).toBe(0);
    if (stats.pending === 0) return;
    if (Date.now() > deadline) throw new Error(`the outbox still holds ${stats.pending} deliveries`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('NOTIFY_AUTHORS', () => {
  it('is on unless set to false, and names a wrong value', () => {
    expect(loadConfig(minimalEnv).notifyAuthors).toBe(true);
    expect(loadConfig({ ...minimalEnv, NOTIFY_AUTHORS: 'false' }).notifyAuthors).toBe(false);
    expect(configProblems({ ...minimalEnv, NOTIFY_AUTHORS: 'nope' })).toEqual(['NOTIFY_AUTHORS must be true or false']);
  });
});

describe('a word to the merge request’s author', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('the author hears of an approval by direct message, found by their GitLab e-mail', async () => {
    h = await startHarness();
    h.slack.addPerson(AUTHOR, DEFAULT_AUTHOR.email);
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);

    const [dm] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === AUTHOR);
    expect(said(dm!)).toContain('acme/payments-api!128');
    expect(said(dm!)).toContain(`*approved* by <@${APPROVER}>`);
    expect(said(dm!)).toContain(`https://approvals.example.com/checks/${id}|History of this check`);
    const [lookup] = h.slack.calls('users.lookupByEmail');
    expect(lookup!.body.email).toBe(DEFAULT_AUTHOR.email);
    await audited(h, id, 'author_notified');
  });

  it('a rejection tells the author its reason, escaped', async () => {
    h = await startHarness();
    h.slack.addPerson(AUTHOR, DEFAULT_AUTHOR.email);
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'reject_check', id);
    await h.slack.waitFor('views.open');
    await h.submitReject(APPROVER, id, 'No <!channel> rollback plan & no tests');
    const [dm] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === AUTHOR);
    expect(said(dm!)).toContain('*rejected* by');
    expect(said(dm!)).toContain('No &lt;!channel&gt; rollback plan &amp; no tests');
    expect(said(dm!)).not.toContain('<!channel>');
  });

  it('GitLab refusing the report is news for the author too', async () => {
    h = await startHarness();
    h.slack.addPerson(AUTHOR, DEFAULT_AUTHOR.email);
    h.gitlab.queue({ status: 403, body: { message: '403 Forbidden' } });
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    const dms = await h.slack.waitFor('chat.postMessage', 2, (c) => c.body.channel === AUTHOR);
    expect(dms.map(said).join('\n')).toContain('*GitLab refused the report*: GitLab answered 403');
  });

  it('an approval withdrawn by a stricter rule is news for the author', async () => {
    h = await startWithPolicy(`rules:\n  - name: payments\n    projects: acme/payments-*\n    branches: main\n    approvers: { slack: [U0PAY1, U0PAY2] }\n    required: 2\n`);
    h.slack.addPerson(AUTHOR, DEFAULT_AUTHOR.email);
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'feature/base'))).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    await h.receive(mergeRequestInto('acme/payments-api', 'main'));
    const dms = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === AUTHOR && said(c).includes('withdrawn'));
    expect(said(dms[0]!)).toContain('rule “payments” governs it now (0 of 2 approvals, 2 more needed)');
  });

  it('nobody is messaged when the author’s e-mail matches no Slack user', async () => {
    h = await startHarness();
    h.slack.addPerson('U0SOMEONE', 'someone.else@example.com');
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    await h.slack.refused.waitFor((c) => c.method === 'users.lookupByEmail' && c.body.email === DEFAULT_AUTHOR.email);
    // The outbox is done with it: nothing waits to be retried.
    await h.slack.waitFor('chat.update', 1, (c) => said(c).includes('Reported to GitLab'));
    await outboxEmpty(h);
    expect(h.slack.calls('chat.postMessage').filter((c) => c.body.channel !== 'C0APPROVALS')).toEqual([]);
  });

  it('NOTIFY_AUTHORS=false: no look-up, no message', async () => {
    h = await startHarness({ NOTIFY_AUTHORS: 'false' });
    h.slack.addPerson(AUTHOR, DEFAULT_AUTHOR.email);
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    await h.slack.waitFor('chat.update', 1, (c) => said(c).includes('Reported to GitLab'));
    await audited(h, id, 'reported');
    expect(h.slack.calls('users.lookupByEmail')).toEqual([]);
    expect(h.slack.refused.calls.filter((c) => c.method === 'users.lookupByEmail')).toEqual([]);
    expect(h.slack.directMessages(AUTHOR)).toEqual([]);
  });
});
