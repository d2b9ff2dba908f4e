import { afterEach, describe, expect, it, vi } from 'vitest';
import { APPROVER, SECOND_APPROVER, pendingAnswer, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { decideOnWeb } from '../support/web.js';
import { mergeRequestInto, nthPrivateReply, startWithPolicy } from '../support/policy.js';

/** A status check call whose merge request GitLab last changed at `minute` past nine. */
function callAt(minute: number, changes: Parameters<typeof statusCheck>[0] = {}) {
  const p = statusCheck(changes);
  p.object_attributes.updated_at = `2026-11-20 09:${String(minute).padStart(2, '0')}:00 UTC`;
  return p;
}


describe('the gate holds when things arrive out of order or change under it', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('a late call about an older commit (GitLab retrying) does not take the place of the newest', async () => {
    h = await startHarness();
    await h.receive(callAt(10, { sha: sha(1) }));
    const newest = (await h.receive(callAt(20, { sha: sha(2) }))).body.id as number;
    await h.slack.waitFor('chat.postMessage', 2);
    // GitLab's retry of the first call arrives after the push.
    const late = await h.receive(callAt(10, { sha: sha(1) }));
    expect(late.status).toBe(202);
    expect(await h.bot.store.getCheck(newest)).toMatchObject({ state: 'pending' });
    expect((await h.bot.store.pendingChecks(10)).map((c) => c.sha)).toEqual([sha(2)]);
    // A call for a commit never seen, but older than what is known, is recorded, not carded.
    const unseen = await h.receive(callAt(5, { sha: sha(9) }));
    expect(unseen.body.state).toBe('superseded');
    // A push back to the first commit is newer, and revives it.
    await h.receive(callAt(30, { sha: sha(1) }));
    expect((await h.bot.store.pendingChecks(10)).map((c) => c.sha)).toEqual([sha(1)]);
  });

  it.each(['16.4', '17.6'])('an approval made under a weaker rule is withdrawn when the target branch moves to a stricter one (GitLab %s)', async (version) => {
    const FIRST = '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4';
    h = await startWithPolicy(
      `rules:\n  - name: payments\n    projects: acme/payments-*\n    branches: main\n    approvers: { slack: [U0PAY1, U0PAY2] }\n    required: 2\n`,
      {},
      { gitlabVersion: version },
    );
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'feature/base'))).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', ruleName: 'default' });
    expect(h.gitlab.statusOf(42, 128, 7, FIRST)).toBe('passed');

    await h.receive(mergeRequestInto('acme/payments-api', 'main'));
    // GitLab is told the commit may not merge (failed: what blocks on every version), with a
    // note saying why, and a fresh card asks the payments approvers.
    const [, withdrawn] = await h.gitlab.waitForResponses(2);
    expect(withdrawn!.body).toMatchObject({ status: 'failed', sha: FIRST });
    expect(h.gitlab.statusOf(42, 128, 7, FIRST)).toBe('failed');
    const [note] = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path === '/api/v4/projects/42/merge_requests/128/notes');
    expect(String(note!.body.body)).toContain('**Approval withdrawn**');
    expect(String(note!.body.body)).toContain('rule `payments` now governs this merge request (2 approvals needed; it was `default`)');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', ruleName: 'payments', approvalsRequired: 2, approvals: [] });
    // The withdrawal is audited, and is no decision of the check, which waits again.
    const events = async () => (await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id })).map((e) => e.event);
    await vi.waitFor(async () => expect(await events()).toContain('withdrawal_reported'), { timeout: 10_000, interval: 20 });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
    await h.slack.waitFor('chat.postMessage', 2);
    await h.click('U0PAY1', 'approve_check', id);
    expect(await nthPrivateReply(h, 1)).toBe('Your approval is counted: 1 of 2.');
    expect(h.gitlab.statusOf(42, 128, 7, FIRST)).toBe('failed');
    await h.click('U0PAY2', 'approve_check', id);
    const [, , passed] = await h.gitlab.waitForResponses(3);
    expect(passed!.body).toMatchObject({ status: 'passed' });
    expect(h.gitlab.statusOf(42, 128, 7, FIRST)).toBe('passed');
  });
});

describe('the note that explains a withdrawn approval', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('quotes rule names as code: no Markdown, mention or HTML of theirs reaches GitLab', async () => {
    const name = 'pay`ments **now** @all <img src=x>';
    h = await startWithPolicy(`rules:\n  - name: "${name}"\n    projects: acme/payments-*\n    branches: main\n    approvers: { slack: [U0PAY1] }\n`);
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'feature/base'))).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    await h.receive(mergeRequestInto('acme/payments-api', 'main'));

    const [note] = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path.endsWith('/merge_requests/128/notes'));
    const body = String(note!.body.body);
    expect(body).toContain(`rule \`\`${name}\`\` now governs`);
    // Outside code spans, nothing of the name is left to render.
    expect(body.replace(/(`+)[^`]*?(?:`(?!`)[^`]*?)*\1/g, '')).not.toMatch(/@all|<img|\*\*now/);
  });
});

describe('identities are not mixed up', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('in Slack, an author without a public e-mail cannot be told apart, so the approval is refused', async () => {
    h = await startHarness();
    h.gitlab.setAuthors(42, 128, { id: 17, username: 'dreyes', email: 'dana@private.example', hidePublicEmail: true, commitEmails: ['17-dreyes@users.noreply.gitlab.example.com'] });
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    expect(await nthPrivateReply(h, 1)).toContain('does not show the e-mail of this merge request’s author');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    expect(h.gitlab.responses).toEqual([]);
    // On the web list a WEB_USERS name is compared with the author's username instead.
    expect((await decideOnWeb(h, id, 'approve')).status).toBe(303);
    await h.gitlab.waitForResponses(1);
  });

  it('a shared web login cannot count towards a quorum of different people', async () => {
    h = await startWithPolicy(`rules:\n  - name: two people\n    approvers: { slack: [${APPROVER}, ${SECOND_APPROVER}], web: [alice] }\n    required: 2\n`);
    const id = (await h.receive()).body.id as number;
    const refused = await decideOnWeb(h, id, 'approve');
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('a shared web login cannot tell people apart');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', approvals: [] });
  });

  it('/pending lists only what the person asking may decide', async () => {
    h = await startWithPolicy(`rules:\n  - name: payments\n    projects: acme/payments-*\n    approvers: { slack: [U0PAY1] }\n`);
    await h.receive(mergeRequestInto('acme/payments-api', 'main'));
    await h.receive(mergeRequestInto('acme/web', 'main', { iid: 7 }));
    const list = async (user: string) => JSON.stringify(await pendingAnswer(h, user));
    const payments = await list('U0PAY1');
    expect(payments).toContain('acme/payments-api!128');
    expect(payments).not.toContain('acme/web!7');
    const others = await list(APPROVER);
    expect(others).toContain('acme/web!7');
    expect(others).not.toContain('acme/payments-api!128');
    expect(await list('U0NOBODY')).toContain('Nothing waits for a decision');
  });
});
