import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUTHOR } from '../../src/fakes/gitlab.js';
import { APPROVER, basic, CHANNEL, SECOND_APPROVER, startHarness, type Harness } from '../support/harness.js';
import { decideOnWeb } from '../support/web.js';
import { cardSays, nthPrivateReply, startWithPolicy, submitComment } from '../support/policy.js';

const MR_PATH = /^\/api\/v4\/projects\/42\/merge_requests\/128$/;
const SERVER_ERROR = { status: 500, body: { message: '500 Internal Server Error' } };

/** Receives the sample merge request (by dreyes, dana.reyes@example.com) and waits for its card. */
async function posted(h: Harness): Promise<number> {
  const id = (await h.receive()).body.id as number;
  await h.slack.waitFor('chat.postMessage');
  return id;
}

/** Nothing was decided and nothing went to GitLab. */
async function expectUndecided(h: Harness, id: number): Promise<void> {
  expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
  expect(await h.bot.store.decisionsOf(id)).toEqual([]);
  expect(await h.bot.store.hasPendingDelivery(id, 'report')).toBe(false);
  expect(h.gitlab.responses).toEqual([]);
}

describe('four eyes: nobody approves their own merge request', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('an approver whose Slack e-mail is the author’s is refused, and told why', async () => {
    h = await startHarness();
    // Same address, other capitals: still the same person.
    h.slack.setEmail(APPROVER, 'Dana.Reyes@Example.com');
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    const refusal = await nthPrivateReply(h, 1);
    expect(refusal).toContain('You wrote this merge request');
    expect(refusal).toContain('four eyes');
    await expectUndecided(h, id);
    const events = await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id });
    expect(events.filter((e) => e.event === 'refused')).toEqual([expect.objectContaining({ actor: 'u0approver', via: 'slack', detail: expect.stringContaining('four eyes') })]);

    // Someone else approves it.
    await h.click(SECOND_APPROVER, 'approve_check', id);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
  });

  it('the author of one of its commits is refused too', async () => {
    h = await startHarness();
    h.gitlab.setAuthors(42, 128, { id: 31, username: 'sortiz', email: 'sam.ortiz@example.com', commitEmails: ['sam.ortiz@example.com', 'lee.chan@example.com'] });
    h.slack.setEmail(APPROVER, 'lee.chan@example.com');
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    expect(await nthPrivateReply(h, 1)).toContain('one of its commits');
    await expectUndecided(h, id);
  });

  it('the author of a commit on a late page of a long merge request is refused too (every page of commits is read)', async () => {
    h = await startHarness();
    // GitLab gives at most 100 commits a page: this merge request has eleven pages.
    const others = Array.from({ length: 1049 }, (_, i) => `dev${i}@example.com`);
    h.gitlab.setAuthors(42, 128, { id: 31, username: 'sortiz', email: 'sam.ortiz@example.com', commitEmails: [...others, 'lee.chan@example.com'] });
    h.slack.setEmail(APPROVER, 'lee.chan@example.com');
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    expect(await nthPrivateReply(h, 1)).toContain('one of its commits');
    await expectUndecided(h, id);
    const pages = h.gitlab.requests.calls.filter((c) => c.path.endsWith('/merge_requests/128/commits'));
    expect(pages.map((c) => c.query?.page ?? '1')).toEqual(Array.from({ length: 11 }, (_, i) => String(i + 1)));
  });

  it('rejecting your own merge request is allowed', async () => {
    h = await startHarness();
    h.slack.setEmail(APPROVER, DEFAULT_AUTHOR.email);
    const id = await posted(h);
    await h.click(APPROVER, 'reject_check', id);
    await h.slack.waitFor('views.open');
    await h.submitReject(APPROVER, id, 'Found a bug in my own retry loop');

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed' });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', decidedBy: APPROVER });
  });

  it.each([
    {
      how: 'the rule says allow_self_approval: true',
      start: () =>
        startWithPolicy(`rules:\n  - name: sandbox\n    projects: acme/**\n    approvers:\n      slack: [${APPROVER}]\n    allow_self_approval: true\n`),
    },
    { how: 'ALLOW_SELF_APPROVAL=true for the default rule', start: () => startHarness({ ALLOW_SELF_APPROVAL: 'true' }) },
  ])('the author may approve when $how', async ({ start }) => {
    h = await start();
    h.slack.setEmail(APPROVER, DEFAULT_AUTHOR.email);
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: APPROVER });
  });

  it('a self-approval under approve_with_comment is refused privately after the modal closes, and nothing is posted', async () => {
    h = await startWithPolicy(`rules:\n  - name: payments\n    projects: acme/**\n    approvers:\n      slack: [${APPROVER}]\n    approve_with_comment: true\n`);
    h.slack.setEmail(APPROVER, DEFAULT_AUTHOR.email);
    const id = await posted(h);
    // The modal opens at once (Slack allows 3 seconds); the four-eyes test runs on submit.
    await h.click(APPROVER, 'approve_check', id);
    await h.slack.waitFor('views.open');
    const submitted = await submitComment(h, APPROVER, id, 'Looks good to me');
    expect(submitted.status).toBe(200);
    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: APPROVER });
    expect(String(told!.body.text)).toContain('four eyes');
    await expectUndecided(h, id);
    expect(h.gitlab.notes).toEqual([]);
  });
});

describe('four eyes fails closed', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('Slack shares no e-mail for the approver: refused, naming the users:read.email scope', async () => {
    h = await startHarness();
    h.slack.setEmail(APPROVER, null);
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    const refusal = await nthPrivateReply(h, 1);
    expect(refusal).toContain('users:read.email');
    expect(refusal).toContain('Nothing was recorded');
    await expectUndecided(h, id);
  });

  it('Slack cannot say who the approver is just now: refused, asked to try again', async () => {
    h = await startHarness();
    h.slack.queue('users.info', { status: 200, body: { ok: false, error: 'internal_error' } });
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    expect(await nthPrivateReply(h, 1)).toContain('try again');
    await expectUndecided(h, id);
  });

  it('GitLab cannot say who wrote the merge request: refused, asked to try again; a retry once GitLab is back succeeds', async () => {
    h = await startHarness();
    h.gitlab.queueFor({ method: 'GET', path: MR_PATH }, SERVER_ERROR);
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    const refusal = await nthPrivateReply(h, 1);
    expect(refusal).toContain('GitLab did not say who wrote this merge request');
    expect(refusal).toContain('try again');
    await expectUndecided(h, id);

    // GitLab answers again: the same click now goes through (the failure was not remembered).
    await h.click(APPROVER, 'approve_check', id);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    await h.slack.waitFor('chat.update', 1, cardSays('Reported to GitLab'));
    expect(h.gitlab.requests.calls.filter((c) => c.method === 'GET' && MR_PATH.test(c.path))).toHaveLength(2);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: APPROVER });
  });

  it('the author’s commits cannot be read: refused as well', async () => {
    h = await startHarness();
    h.gitlab.queueFor({ method: 'GET', path: /\/merge_requests\/128\/commits$/ }, { status: 502, body: { message: '502 Bad Gateway' } });
    const id = await posted(h);
    await h.click(APPROVER, 'approve_check', id);

    expect(await nthPrivateReply(h, 1)).toContain('try again');
    await expectUndecided(h, id);
  });
});

describe('four eyes on the web list', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  const DANA = { name: DEFAULT_AUTHOR.username, password: 'dana-password-123' };


  it('a web user whose name is the author’s GitLab username is refused with the reason; someone else may approve', async () => {
    h = await startHarness({ WEB_USERS: `alice:correct-horse-battery,${DANA.name}:${DANA.password}` });
    const id = await posted(h);

    const refused = await decideOnWeb(h, id, 'approve', { authorization: basic(DANA.name, DANA.password), reason: 'my own' });
    expect([403, 409]).toContain(refused.status);
    expect(refused.html).toContain('Not recorded');
    expect(refused.html).toContain('four eyes');
    await expectUndecided(h, id);

    const approved = await decideOnWeb(h, id, 'approve', { authorization: basic(), reason: 'my own' });
    expect(approved.status).toBe(303);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: 'alice', decidedVia: 'web' });
  });

  it('the author may reject their own merge request on the web list', async () => {
    h = await startHarness({ WEB_USERS: `${DANA.name}:${DANA.password}` });
    const id = await posted(h);
    const rejected = await decideOnWeb(h, id, 'reject', { authorization: basic(DANA.name, DANA.password), reason: 'my own' });
    expect(rejected.status).toBe(303);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed' });
  });
});
