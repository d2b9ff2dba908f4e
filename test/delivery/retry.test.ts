import { afterEach, describe, expect, it } from 'vitest';
import { APPROVER, statusCheck } from '../support/harness.js';
import { cardText, checkIdOf, webList, webRow } from '../support/cards.js';
import { startWiredHarness, type WiredHarness } from '../support/wire.js';

const gitlabDown = { status: 500, body: { message: '500 Internal Server Error' } };
const slackRateLimit = { status: 429, headers: { 'Retry-After': '1' }, body: { ok: false, error: 'ratelimited' } };

describe('a decision is never lost: outages, rate limits and refusals', () => {
  let w: WiredHarness;
  afterEach(async () => {
    await w.stop();
  });

  it('GitLab fails five times, then accepts: the decision arrives once, after growing pauses, and the card says reported only then', async () => {
    // A base of 40 ms keeps even the first pause well above the noise of a busy machine.
    w = await startWiredHarness({ DELIVERY_RETRY_BASE_MS: '40', DELIVERY_RETRY_MAX_MS: '5000' });
    const { h, gitlabWire, slackWire } = w;
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    h.gitlab.queue(gitlabDown, gitlabDown, gitlabDown, gitlabDown, gitlabDown);

    expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);
    const [reportedCard] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('Reported to GitLab'));

    const attempts = gitlabWire.to('/status_check_responses');
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 500, 500, 201]);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1); // the same decision every time
    expect(h.gitlab.responses.map((r) => r.body.status)).toEqual(Array(6).fill('passed'));

    // Backoff doubles from 40 ms with "equal jitter": each pause is at least half its ceiling.
    const pauses = attempts.slice(1).map((a, i) => a.sentAt - attempts[i]!.answeredAt);
    const floors = [20, 40, 80, 160, 320];
    pauses.forEach((pause, i) => expect(pause, `pause ${i + 1} of ${pauses.join(', ')} ms`).toBeGreaterThanOrEqual(floors[i]!));
    expect(pauses[4]!).toBeGreaterThan(pauses[0]! + pauses[1]!);

    // The card said "retrying" while GitLab was down, and "reported" only after the 201.
    const accepted = attempts[5]!;
    const updates = slackWire.to('/chat.update').filter((u) => u.status === 200);
    const before = updates.filter((u) => u.sentAt < accepted.answeredAt).map((u) => u.body);
    expect(before.some((text) => text.includes('retrying'))).toBe(true);
    expect(before.filter((text) => text.includes('Reported to GitLab'))).toEqual([]);
    expect(h.slack.calls('chat.update').filter((c) => cardText(c).includes('Reported to GitLab'))).toEqual([reportedCard]);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported', reportError: null });
  });

  it('Slack rate-limits a burst of 200 checks: every card is posted once, and never before Retry-After has passed', async () => {
    w = await startWiredHarness();
    const { h, slackWire } = w;
    h.slack.queue('chat.postMessage', slackRateLimit);

    const received = await Promise.all(Array.from({ length: 200 }, (_, i) => h.receive(statusCheck({ iid: 1000 + i }))));
    expect(received.map((r) => r.status)).toEqual(Array(200).fill(202));
    const ids = received.map((r) => r.body.id as number);

    await h.slack.waitFor('chat.postMessage', 100, undefined, 20_000);
    // Limited again in the middle of the burst, and once more right after that pause.
    h.slack.queue('chat.postMessage', slackRateLimit, slackRateLimit);
    const cards = await h.slack.waitFor('chat.postMessage', 200, undefined, 20_000);
    expect(cards).toHaveLength(200);
    expect(new Set(cards.map(checkIdOf))).toEqual(new Set(ids)); // 200 cards, 200 checks: none twice

    // One more check, posted after all the others: nothing was left to post a second time.
    const last = (await h.receive(statusCheck({ iid: 2000 }))).body.id as number;
    await h.slack.waitFor('chat.postMessage', 1, (c) => checkIdOf(c) === last);
    expect(h.slack.calls('chat.postMessage').map(checkIdOf).slice(200)).toEqual([last]);

    const posts = await slackWire.waitFor('/chat.postMessage', 204);
    const limited = posts.flatMap((call, i) => (call.status === 429 ? [i] : []));
    expect(limited).toHaveLength(3);
    for (const i of limited) {
      const next = posts[i + 1]!;
      expect(next.sentAt - posts[i]!.answeredAt, `pause after the 429 at call ${i + 1}`).toBeGreaterThanOrEqual(1000);
    }
    expect((await h.bot.store.deliveryStats(Date.now())).failed).toBe(0);
  });

  it('GitLab answers 404: one attempt, no retry, and the refusal is on the card, the web list and the outbox stats', async () => {
    w = await startWiredHarness();
    const { h, gitlabWire } = w;
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    h.gitlab.queue({ status: 404, body: { message: '404 Not Found' } });

    await h.click(APPROVER, 'approve_check', id);
    const [card] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('GitLab refused the report'));
    expect(cardText(card!)).toContain('GitLab answered 404 (the check is not in this project, or the token cannot see it)');
    expect(cardText(card!)).not.toContain('Reported to GitLab');

    // Another decision goes through afterwards: the lane moved on without trying the 404 again.
    const other = (await h.receive(statusCheck({ iid: 129 }))).body.id as number;
    await h.click(APPROVER, 'approve_check', other);
    await gitlabWire.waitFor('/status_check_responses', 2);
    expect(gitlabWire.to('/status_check_responses').map((a) => [a.path, a.status])).toEqual([
      ['/api/v4/projects/42/merge_requests/128/status_check_responses', 404],
      ['/api/v4/projects/42/merge_requests/129/status_check_responses', 201],
    ]);

    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'failed', reportError: expect.stringContaining('GitLab answered 404') });
    expect(webRow(await webList(h), id)).toMatch(/<span class="badge approved">Approved<\/span>[\s\S]*GitLab refused the report: GitLab answered 404/);
    expect((await h.bot.store.deliveryStats(Date.now())).failed).toBe(1);
  });

  it('Slack answers channel_not_found: the card is not retried and the check says why', async () => {
    w = await startWiredHarness();
    const { h, slackWire } = w;
    h.slack.queue('chat.postMessage', { status: 200, body: { ok: false, error: 'channel_not_found' } });

    const id = (await h.receive()).body.id as number;
    await slackWire.waitFor('/chat.postMessage');
    // A second check's card is posted after the first one was given up: the lane moved on.
    const other = (await h.receive(statusCheck({ iid: 129 }))).body.id as number;
    await h.slack.waitFor('chat.postMessage', 1, (c) => checkIdOf(c) === other);
    await slackWire.waitFor('/chat.postMessage', 2);

    expect(slackWire.to('/chat.postMessage').map((c) => c.status)).toEqual([200, 200]);
    expect(h.slack.calls('chat.postMessage').map(checkIdOf)).toEqual([other]);
    const check = await h.bot.store.getCheck(id);
    expect(check).toMatchObject({ state: 'pending', slackTs: null });
    expect(check?.cardError).toBe(
      'The card could not be posted: Slack refused: channel_not_found (check SLACK_CHANNEL; a private channel must invite the bot)',
    );
    expect(webRow(await webList(h), id)).toContain('The card could not be posted: Slack refused: channel_not_found');
    expect((await h.bot.store.deliveryStats(Date.now())).failed).toBe(1);
  });
});
