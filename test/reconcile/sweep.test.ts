import { afterEach, describe, expect, it } from 'vitest';
import { setMergeRequest, FakeGitLab, type FakeMergeRequest } from '../../src/fakes/gitlab.js';
import { ReconcileClient } from '../../src/gitlab/reconcile-client.js';
import { cardText, checkIdOf } from '../support/cards.js';
import { APPROVER, SECRETS, startHarness, statusCheck, type Harness } from '../support/harness.js';

const PROJECT = { id: 42, path: 'acme/payments-api' };
const FIXTURE_SHA = '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4';
const OUR_CHECK = { id: 7, name: 'Change approval', externalUrl: 'https://approvals.example.com/status_check' };
const mergeRequest = (changes: Partial<FakeMergeRequest> = {}): FakeMergeRequest => ({
  iid: 128,
  title: 'Retry card payments',
  sha: FIXTURE_SHA,
  updatedAt: '2026-11-21T10:00:00Z',
  statusChecks: [OUR_CHECK],
  ...changes,
});

/** Polls until `read` returns something truthy; bounded, for state no fake records. */
async function eventually<T>(read: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > until) throw new Error('the condition did not come true in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the sweep asks GitLab what the bot missed', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('a merge request whose call never arrived gets its card within one interval', async () => {
    h = await startHarness({ RECONCILE_INTERVAL_SECONDS: '1', GITLAB_PROJECTS: PROJECT.path });
    // GitLab called while the bot was away: the bot has never heard of !7.
    // Someone else's status check on the same merge request is left alone.
    setMergeRequest(h.gitlab, PROJECT, mergeRequest({ iid: 7, title: 'Missed while deploying <!channel>', sha: 'c'.repeat(40), statusChecks: [OUR_CHECK, { id: 99, name: 'Security scan', externalUrl: 'https://scanner.example.com/hook' }] }));

    const started = Date.now();
    const [card] = await h.slack.waitFor('chat.postMessage', 1, () => true, 10_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(cardText(card!)).toContain('acme/payments-api!7');
    expect(cardText(card!)).toContain('&lt;!channel&gt;');
    const id = checkIdOf(card!) as number;
    expect(await h.bot.store.getCheck(id)).toMatchObject({ projectId: 42, mergeRequestIid: 7, sha: 'c'.repeat(40), statusCheckId: 7, state: 'pending' });
    const events = (await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id })).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['received', 'reconciled']));
    // One check only: not one per sweep, and none for the status check that is not the bot's.
    await eventually(() => h.gitlab.requests.calls.filter((c) => c.path.endsWith('/merge_requests/7/status_checks')).length >= 2);
    expect(await h.bot.store.checksOfMergeRequest(42, 7)).toHaveLength(1);
    expect(h.slack.calls('chat.postMessage')).toHaveLength(1);

    const metrics = await (await fetch(`${h.bot.url}/metrics`)).text();
    expect(metrics).toContain('approval_reconcile_repaired_total{kind="created"} 1');
    expect(metrics).toMatch(/approval_reconcile_last_success_timestamp_seconds [1-9]/);
  });

  it('a decision refused with 401 is reported again once GitLab accepts it, without a click', async () => {
    h = await startHarness({ RECONCILE_INTERVAL_SECONDS: '1' });
    setMergeRequest(h.gitlab, PROJECT, mergeRequest());
    h.gitlab.queue({ status: 401, body: { message: '401 Unauthorized' } });
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await h.click(APPROVER, 'approve_check', id);
    await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('GitLab refused the report'));

    // The token works again: the next sweep sees GitLab still waiting, and sends the decision.
    const [, again] = await h.gitlab.waitForResponses(2, 10_000);
    expect(again!.body).toEqual({ sha: FIXTURE_SHA, external_status_check_id: 7, status: 'passed' });
    await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('Reported to GitLab'));
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported', reportError: null });
    const events = (await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id })).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['report_failed', 'report_resent', 'reported']));
    // Accepted now: later sweeps leave it alone.
    await eventually(() => h.gitlab.requests.calls.filter((c) => c.path.endsWith('/merge_requests/128/status_checks')).length >= 3);
    expect(h.gitlab.responses).toHaveLength(2);
  });

  it('a merged merge request’s waiting card is retired by the sweep', async () => {
    h = await startHarness({ RECONCILE_INTERVAL_SECONDS: '1' });
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    // Merged while the bot was away; GitLab's call about it never arrived.
    setMergeRequest(h.gitlab, PROJECT, mergeRequest({ state: 'merged' }));

    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('merged'), 10_000);
    expect(checkIdOf(update!)).toBeNull();
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'merged' });
  });
});

describe('a push the bot never heard of', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('the sweep posts the new commit’s card and supersedes the waiting one', async () => {
    h = await startHarness({ RECONCILE_INTERVAL_SECONDS: '1' });
    const old = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    setMergeRequest(h.gitlab, PROJECT, mergeRequest({ sha: 'e'.repeat(40), updatedAt: '2026-11-22T10:00:00Z' }));

    const [, card] = await h.slack.waitFor('chat.postMessage', 2, () => true, 10_000);
    const id = checkIdOf(card!) as number;
    expect(await h.bot.store.getCheck(id)).toMatchObject({ sha: 'e'.repeat(40), state: 'pending', previousSha: FIXTURE_SHA });
    await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('Superseded'));
    expect((await h.bot.store.getCheck(old))?.state).toBe('superseded');
  });
});

describe('GitLab’s own Retry', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('the same commit sent again re-sends a decision GitLab refused', async () => {
    h = await startHarness();
    h.gitlab.queue({ status: 401, body: { message: '401 Unauthorized' } });
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await h.click(APPROVER, 'approve_check', id);
    await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('GitLab refused the report'));

    expect((await h.receive(statusCheck())).status).toBe(202);
    const [, again] = await h.gitlab.waitForResponses(2);
    expect(again!.body).toMatchObject({ status: 'passed', external_status_check_id: 7 });
    await eventually(async () => (await h.bot.store.getCheck(id))?.report === 'reported');
    // A decision GitLab has is not sent a third time.
    expect((await h.receive(statusCheck())).status).toBe(202);
    expect(h.gitlab.responses).toHaveLength(2);
  });
});

describe('the sweep’s GitLab client', () => {
  let gitlab: FakeGitLab;
  afterEach(async () => {
    await gitlab.close();
  });

  it('reads every page of open merge requests, following X-Next-Page', async () => {
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    for (let iid = 1; iid <= 230; iid += 1) setMergeRequest(gitlab, PROJECT, mergeRequest({ iid, sha: iid.toString(16).padStart(40, 'd') }));
    setMergeRequest(gitlab, PROJECT, mergeRequest({ iid: 231, state: 'closed' }));
    const client = new ReconcileClient({ url: gitlab.url, token: SECRETS.gitlabToken, timeoutMs: 2000, paceMs: 0 });

    const open = await client.openMergeRequests(42);
    expect(open).toHaveLength(230);
    expect(new Set(open.map((m) => m.iid)).size).toBe(230);
    const pages = gitlab.requests.calls.filter((c) => c.path === '/api/v4/projects/42/merge_requests');
    expect(pages.map((c) => c.query?.page)).toEqual(['1', '2', '3']);
    expect(pages.every((c) => c.query?.state === 'opened' && c.query.per_page === '100')).toBe(true);
  });

  it('waits out a 429’s Retry-After, then goes on', async () => {
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    setMergeRequest(gitlab, PROJECT, mergeRequest());
    gitlab.queueFor({ method: 'GET', path: /\/merge_requests$/ }, { status: 429, headers: { 'retry-after': '1' }, body: { message: 'Retry later' } });
    const client = new ReconcileClient({ url: gitlab.url, token: SECRETS.gitlabToken, timeoutMs: 2000, paceMs: 0 });

    const started = Date.now();
    expect(await client.openMergeRequests(42)).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('names GitLab’s refusal', async () => {
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    const client = new ReconcileClient({ url: gitlab.url, token: 'glpat-revoked', timeoutMs: 2000, paceMs: 0 });
    await expect(client.project('acme/payments-api')).rejects.toThrow(/GitLab answered 401 to GET \/api\/v4\/projects\/acme%2Fpayments-api \(the token is invalid or expired\)/);
  });
});
