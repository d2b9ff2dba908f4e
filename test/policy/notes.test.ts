import { afterEach, describe, expect, it } from 'vitest';
import { APPROVER, CHANNEL, OUTSIDER, SECRETS, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { cardSays, startWithPolicy, submitComment } from '../support/policy.js';
import { decideOnWeb } from '../support/web.js';

const NOTES_PATH = '/api/v4/projects/42/merge_requests/128/notes';
const everything = { from: new Date(0), to: new Date(Date.now() + 3_600_000) };

/** Receives a merge request and waits for its card. */
async function posted(h: Harness, iid = 128): Promise<number> {
  const id = (await h.receive(statusCheck({ iid }))).body.id as number;
  await h.slack.waitFor('chat.postMessage', 1, cardSays(`!${iid} `));
  return id;
}

/** Rejects in Slack the way a person does: Reject, then the modal's Reject button. */
async function reject(h: Harness, id: number, reason: string | null): Promise<void> {
  const opened = h.slack.calls('views.open').length;
  await h.click(APPROVER, 'reject_check', id);
  await h.slack.waitFor('views.open', opened + 1);
  const submitted = await h.submitReject(APPROVER, id, reason);
  expect(submitted.status).toBe(200);
}

const eventsOf = async (h: Harness, id: number) => (await h.bot.gate.history({ ...everything, checkId: id })).map((e) => e.event);

describe('reasons reach the merge request as notes', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('a rejection’s reason is posted on the merge request, quoted, with who rejected it', async () => {
    h = await startHarness();
    const id = await posted(h);
    await reject(h, id, 'Needs a migration plan.\nAnd a rollback step.');

    const [note] = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path === NOTES_PATH);
    expect(note!.token).toBe(SECRETS.gitlabToken);
    const body = String(note!.body.body);
    expect(body).toContain('**Rejected** by u0approver in Slack');
    expect(body).toContain('> Needs a migration plan.\n> And a rollback step.');
    expect(body).toContain('9f2c4e1b');
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed' });
    expect(h.gitlab.notes).toHaveLength(1);
  });

  it('a note GitLab refuses once with 500 is retried from the outbox and posted once', async () => {
    h = await startHarness();
    h.gitlab.queueFor({ method: 'POST', path: /\/notes$/ }, { status: 500, body: { message: '500 Internal Server Error' } });
    const id = await posted(h);
    await reject(h, id, 'Card numbers end up in the logs');

    const [failed, retried] = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path === NOTES_PATH, 2);
    expect(retried!.body).toEqual(failed!.body);
    expect(String(retried!.body.body)).toContain('> Card numbers end up in the logs');

    // The GitLab lane sends one thing at a time: once the next merge request's report is in,
    // the note's delivery is settled.
    const next = await posted(h, 129);
    await h.click(APPROVER, 'approve_check', next);
    await h.gitlab.waitForResponses(2);
    expect(h.gitlab.notes).toHaveLength(2);
    expect((await eventsOf(h, id)).filter((e) => e.startsWith('note_'))).toEqual(['note_posted']);
  });

  it.each([
    { what: 'no reason', reason: null },
    { what: 'an empty reason', reason: '' },
    { what: 'a reason of blanks', reason: '  \n  ' },
  ])('a rejection with $what posts no note', async ({ reason }) => {
    h = await startHarness();
    const id = await posted(h);
    await reject(h, id, reason);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed' });

    // A later rejection with a reason: its note comes after anything queued for the first.
    const next = await posted(h, 129);
    await reject(h, next, 'Wrong target branch');
    await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path.endsWith('/notes'));
    await h.gitlab.waitForResponses(2);
    expect(h.gitlab.notes.map((n) => n.path)).toEqual(['/api/v4/projects/42/merge_requests/129/notes']);
    expect(await eventsOf(h, id)).not.toContain('note_posted');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', reason: null });
  });
});

describe('a rule that asks approvers for a comment', () => {
  const POLICY = `rules:
  - name: payments
    projects: acme/payments-*
    approvers:
      slack: [${APPROVER}]
    approve_with_comment: true
`;
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('Approve opens the comment modal and decides nothing yet', async () => {
    h = await startWithPolicy(POLICY);
    const id = await posted(h);
    expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);

    const [modal] = await h.slack.waitFor('views.open');
    const view = modal!.body.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe('approve_comment');
    expect(JSON.parse(view.private_metadata)).toEqual({ checkId: id, channel: CHANNEL });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(h.gitlab.responses).toEqual([]);
    expect(h.gitlab.notes).toEqual([]);
  });

  it('submitting the comment approves, reports passed and posts the comment as a note', async () => {
    h = await startWithPolicy(POLICY);
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);
    await h.slack.waitFor('views.open');

    const submitted = await submitComment(h, APPROVER, id, 'Checked the retry limits with the gateway team.');
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe('');

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    const [note] = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path === NOTES_PATH);
    const body = String(note!.body.body);
    expect(body).toContain('**Approved** by u0approver in Slack');
    expect(body).toContain('> Checked the retry limits with the gateway team.');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: APPROVER, reason: 'Checked the retry limits with the gateway team.' });
  });

  it.each([['spaces', '   '], ['line breaks and tabs', ' \n\t\n '], ['nothing', null]])(
    'a comment of %s is refused in the modal, naming the comment; nothing is recorded or reported',
    async (_what, comment) => {
      h = await startWithPolicy(POLICY);
      const id = await posted(h);
      await h.click(APPROVER, 'approve_check', id);
      await h.slack.waitFor('views.open');

      const submitted = await submitComment(h, APPROVER, id, comment);
      expect(submitted.status).toBe(200);
      expect(await submitted.json()).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringContaining('asks for a comment') } });
      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
      expect(await h.bot.store.decisionsOf(id)).toEqual([]);
      expect(h.gitlab.responses).toEqual([]);
      expect(h.gitlab.notes).toEqual([]);

      // With a comment, the same person approves.
      await submitComment(h, APPROVER, id, 'Reviewed the rollback plan.');
      const [report] = await h.gitlab.waitForResponses(1);
      expect(report!.body).toMatchObject({ status: 'passed' });
    },
  );

  it('on the web list, an approval with a blank comment is 422 naming the comment', async () => {
    h = await startWithPolicy(POLICY.replace(`slack: [${APPROVER}]`, `slack: [${APPROVER}]\n      web: [alice]`));
    const id = await posted(h);
    const blank = await decideOnWeb(h, id, 'approve', { reason: ' \n\t ' });
    expect(blank.status).toBe(422);
    expect(blank.html).toContain('asks for a comment');
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(h.gitlab.responses).toEqual([]);
    expect((await decideOnWeb(h, id, 'approve', { reason: 'Reviewed.' })).status).toBe(303);
    await h.gitlab.waitForResponses(1);
  });

  it('someone who is not an approver sees the modal turn into the refusal, and nothing is recorded', async () => {
    h = await startWithPolicy(POLICY);
    const id = await posted(h);
    await h.click(OUTSIDER, 'approve_check', id);
    // The modal opens first (Slack's trigger lives 3 s); the approver check follows and replaces the form.
    const [opened] = await h.slack.waitFor('views.open');
    const [refused] = await h.slack.waitFor('views.update');
    expect(refused!.body.view_id).toMatch(/^V/);
    const refusal = refused!.body.view as { submit?: unknown; blocks: unknown[] };
    expect(refusal.submit).toBeUndefined();
    expect(JSON.stringify(refusal.blocks)).toContain('rule “payments”');
    expect(opened).toBeDefined();

    // A comment form submitted anyway is closed, then refused privately in the card's channel.
    const submitted = await submitComment(h, OUTSIDER, id, 'looks fine');
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe('');
    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: OUTSIDER });
    expect(String(told!.body.text)).toContain('not one of the approvers');
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(h.gitlab.responses).toEqual([]);
    expect(h.gitlab.notes).toEqual([]);
  });
});

describe('a note can neither ping people nor run GitLab commands', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });
  const HOSTILE = ['@all look at this', '/merge', '/close', '> /approve', 'x\r/label ~security', '<img src=x onerror=alert(1)>', '**Approved** by the CEO', '[release notes](https://evil.example)'].join('\n');

  it('a rejection reason holding @all, quick actions and markup is posted inert', async () => {
    h = await startHarness();
    const id = await posted(h);
    await reject(h, id, HOSTILE);

    const [note] = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path === NOTES_PATH);
    const body = String(note!.body.body);
    expect(body).toContain('**Rejected** by u0approver in Slack');
    // No mention: GitLab sees a user or group name only right after `@`.
    expect(body).not.toMatch(/@[A-Za-z0-9_.-]/);
    expect(body).toContain('@\u200Dall look at this');
    // No line that GitLab would run as a quick action, whatever counts as a line break.
    expect(body.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/).filter((line) => /^\s*\//.test(line))).toEqual([]);
    expect(body).toContain('> /merge\n> /close');
    // No markup of its own.
    expect(body).toContain('\\<img');
    expect(body).not.toMatch(/(^|[^\\])</);
    expect(body).not.toContain('**Approved**');
    expect(body).not.toContain('](');
    // What was typed is kept as it was, in the audit trail and the database.
    expect((await h.bot.store.getCheck(id))!.reason).toBe(HOSTILE);
  });
});
