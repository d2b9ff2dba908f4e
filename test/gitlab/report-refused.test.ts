import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackCall } from '../../src/fakes/slack.js';
import { APPROVER, basic, SECOND_APPROVER, sha, startHarness, type Harness } from '../support/harness.js';

const cardText = (c: SlackCall) => `${String(c.body.text)}\n${JSON.stringify(c.body.blocks)}`;
type Block = { type: string };
const hasButtons = (c: SlackCall) => (c.body.blocks as Block[]).some((b) => b.type === 'actions');

async function webRow(h: Harness, id: number): Promise<string> {
  const res = await fetch(`${h.bot.url}/`, { headers: { authorization: basic() } });
  const html = await res.text();
  const match = new RegExp(`<tr class="[a-z]+" id="check-${id}">[\\s\\S]*?</tr>`).exec(html);
  if (!match) throw new Error(`check ${id} is not on the web list`);
  return match[0];
}

/** A check with its card posted, approved in Slack; `beforeClick` runs just before the click (a push). */
async function approveOne(h: Harness, beforeClick?: () => void): Promise<number> {
  const id = (await h.receive()).body.id as number;
  await h.slack.waitFor('chat.postMessage');
  beforeClick?.();
  expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);
  return id;
}

describe('when GitLab refuses a decision, people see it plainly', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it.each([
    { status: 404, message: '404 Not Found', hint: 'the check is not in this project, or the token cannot see it' },
    { status: 401, message: '401 Unauthorized', hint: 'the token is invalid or the instance is not licensed for status checks' },
  ])('GitLab answers $status: the report is marked failed, on the card and on the web list', async ({ status, message, hint }) => {
    h.gitlab.queue({ status, body: { message } });
    const id = await approveOne(h);

    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('GitLab refused the report'));
    expect(cardText(update!)).toContain(`GitLab answered ${status}`);
    expect(cardText(update!)).toContain('The check in GitLab did not change.');
    expect(hasButtons(update!)).toBe(false);

    const check = await h.bot.store.getCheck(id);
    expect(check).toMatchObject({ state: 'approved', report: 'failed', reportedAt: null });
    expect(check!.reportError).toBe(`GitLab answered ${status} (${hint}): ${message}`);
    // Refusals are not retried: the one call is all GitLab saw.
    expect(h.gitlab.responses).toHaveLength(1);

    const row = await webRow(h, id);
    expect(row).toContain(`GitLab refused the report: GitLab answered ${status}`);
  });

  it('GitLab answers 409 because HEAD moved on: the check is stale and the card says to decide on the newest', async () => {
    // Someone pushes while the card waits.
    const id = await approveOne(h, () => h.gitlab.setHead(42, 128, sha(2)));

    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('GitLab refused this decision'));
    expect(cardText(update!)).toContain('Decide on the newest card');
    expect(cardText(update!)).toContain('Not reported (newer commit)');
    expect(hasButtons(update!)).toBe(false);

    const check = await h.bot.store.getCheck(id);
    expect(check).toMatchObject({ state: 'stale', report: 'failed', decidedBy: APPROVER });
    expect(check!.reportError).toContain('GitLab answered 409');
    // GitLab names its current HEAD, not the commit the bot sent: the bot says which it is.
    expect(check!.reportError).toContain(`the merge request's HEAD is now ${sha(2).slice(0, 8)}`);
    expect(check!.reportError).toContain(`SHA does not match HEAD of source branch: ${sha(2)}`);
    expect(h.gitlab.responses).toHaveLength(1);

    const row = await webRow(h, id);
    expect(row).toMatch(/<span class="badge stale">Stale<\/span>[\s\S]*GitLab refused the report: GitLab answered 409/);
    // A stale check takes no second decision.
    await h.click(APPROVER, 'approve_check', id);
    const [refusal] = await h.slack.waitFor('response_url');
    expect(String(refusal!.body.text)).toBe(`acme/payments-api!128 was already decided by ${APPROVER.toLowerCase()}.`);
  });

  it('a rejection refused with 409 is stale too, and is never called an approval', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    h.gitlab.setHead(42, 128, sha(2));
    await h.click(APPROVER, 'reject_check', id);
    await h.slack.waitFor('views.open');
    expect((await h.submitReject(APPROVER, id, 'Breaks refunds')).status).toBe(200);

    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('GitLab refused this decision'));
    expect(cardText(update!)).not.toContain('Approved');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'stale', reason: 'Breaks refunds' });
    expect(await h.bot.store.decisionsOf(id)).toEqual([expect.objectContaining({ outcome: 'reject' })]);
    expect(h.gitlab.responses.map((r) => r.body.status)).toEqual(['failed']);

    await h.click(SECOND_APPROVER, 'approve_check', id);
    const [refusal] = await h.slack.waitFor('response_url');
    expect(String(refusal!.body.text)).toBe(`acme/payments-api!128 was already decided by ${APPROVER.toLowerCase()}.`);
    expect(String(refusal!.body.text)).not.toContain('approved');
  });

  it('GitLab fails with 500 once: the report is retried and lands once', async () => {
    h.gitlab.queue({ status: 500, body: { message: '500 Internal Server Error' } });
    const id = await approveOne(h);

    const calls = await h.gitlab.waitForResponses(2);
    expect(calls.map((c) => c.body)).toEqual([
      { sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4', external_status_check_id: 7, status: 'passed' },
      { sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4', external_status_check_id: 7, status: 'passed' },
    ]);
    await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('Reported to GitLab'));
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported', reportError: null, reportedAt: expect.any(Date) });
    expect(h.gitlab.responses).toHaveLength(2);
    expect(await webRow(h, id)).toMatch(/<span class="badge approved">Approved<\/span>[\s\S]*reported to GitLab/);
  });
});

describe('while GitLab is down, the decision waits visibly', () => {
  let h: Harness;
  beforeEach(async () => {
    // Retries far off, so the test sees the state between the failure and the next try.
    h = await startHarness({ DELIVERY_RETRY_BASE_MS: '60000', DELIVERY_RETRY_MAX_MS: '60000' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('a 503 leaves the report retrying, said on the card and on the web list', async () => {
    h.gitlab.queue({ status: 503, body: { message: '503 Service Unavailable' } });
    const id = await approveOne(h);

    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('Not in GitLab yet, retrying'));
    expect(cardText(update!)).toContain('GitLab answered 503');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'sending', reportError: expect.stringContaining('GitLab answered 503') });
    expect(await webRow(h, id)).toContain('not in GitLab yet, retrying (GitLab answered 503');
    expect(h.gitlab.responses).toHaveLength(1);
  });
});
