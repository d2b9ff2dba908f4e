import { afterEach, describe, expect, it } from 'vitest';
import { checkIdOf } from '../support/cards.js';
import { eventually } from '../support/eventually.js';
import { CHANNEL, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { mergeRequestInto, PAYMENTS_CHANNEL, startWithPolicy } from '../support/policy.js';

/**
 * Slack takes about one chat.postMessage a second per channel. The stand-in refuses more with
 * 429, so a bot that posts until it is refused shows here as rate-limited calls. The pace is
 * raised (on both sides alike) only to keep the tests quick; the stand-in keeps a burst of
 * three, as Slack allows short bursts, while the bot counts on none.
 */
describe('cards go out at the pace Slack takes them, per channel', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('a burst of 40 checks: every card posted once, and Slack never has to refuse one', async () => {
    h = await startHarness({ SLACK_POST_PER_SECOND: '10' }, { beforeStart: ({ slack }) => void (slack.postLimit = { perSecond: 10, burst: 3 }) });
    const ids: number[] = [];
    for (let i = 1; i <= 40; i++) {
      const res = await h.receive(statusCheck({ iid: i, sha: sha(i) }));
      expect(res.status).toBe(202);
      ids.push(res.body.id as number);
    }

    const cards = await h.slack.waitFor('chat.postMessage', 40, () => true, 60_000);
    expect(h.slack.rateLimited()).toEqual([]);
    expect(cards.map(checkIdOf).sort((a, b) => a! - b!)).toEqual([...ids].sort((a, b) => a - b));
    expect(cards.every((c) => c.body.channel === CHANNEL)).toBe(true);
    // Nothing is left to post: a restart finds no card missing and posts none again.
    await h.restart();
    await h.receive(statusCheck({ iid: 41, sha: sha(41) }));
    await h.slack.waitFor('chat.postMessage', 41, () => true, 30_000);
    expect(h.slack.calls('chat.postMessage')).toHaveLength(41);
    expect(h.slack.rateLimited()).toEqual([]);
  }, 90_000);

  it('a channel waiting for its turn does not hold back the cards of another', async () => {
    const policy = `rules:\n  - name: payments\n    projects: acme/payments-*\n    branches: main\n    channel: ${PAYMENTS_CHANNEL}\n    approvers: { slack: [U0PAY1] }\n`;
    h = await startWithPolicy(policy, { SLACK_POST_PER_SECOND: '2' }, { beforeStart: ({ slack }) => void (slack.postLimit = { perSecond: 2, burst: 3 }) });
    // Ten cards for the default channel take about five seconds at two a second.
    for (let i = 1; i <= 10; i++) expect((await h.receive(mergeRequestInto('acme/storefront', 'main', { iid: i }))).status).toBe(202);
    expect((await h.receive(mergeRequestInto('acme/payments-api', 'main', { iid: 500 }))).status).toBe(202);

    const [payments] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === PAYMENTS_CHANNEL, 30_000);
    const after = (call: typeof payments) => h.slack.calls('chat.postMessage').indexOf(call!);
    await h.slack.waitFor('chat.postMessage', 10, (c) => c.body.channel === CHANNEL, 30_000);
    // The payments card went out while the default channel still had cards waiting.
    const defaultCards = h.slack.calls('chat.postMessage').filter((c) => c.body.channel === CHANNEL);
    expect(defaultCards.filter((c) => after(c) > after(payments)).length).toBeGreaterThanOrEqual(3);
    expect(h.slack.rateLimited()).toEqual([]);
  }, 90_000);

  it('reminders that come due together keep the channel’s pace too', async () => {
    // In the past: the outbox runs on real time, so what the bot schedules by this clock is due at once.
    let now = Date.parse('2026-11-30T09:00:00Z');
    const policy = `rules:\n  - name: payments\n    projects: acme/**\n    approvers: { slack: [U0PAY1] }\n    remind_after: 2s\n`;
    h = await startWithPolicy(
      policy,
      { SLACK_POST_PER_SECOND: '5' },
      { clock: () => new Date(now), beforeStart: ({ slack }) => void (slack.postLimit = { perSecond: 5, burst: 3 }) },
    );
    for (let i = 1; i <= 6; i++) expect((await h.receive(statusCheck({ iid: i, sha: sha(i) }))).status).toBe(202);
    const cards = await h.slack.waitFor('chat.postMessage', 6, () => true, 30_000);
    const threads = cards.map((c) => String(h.slack.answerTo(c).ts));
    await eventually(
      'every card written down',
      async () => {
        for (const card of cards) if (!(await h.bot.store.getCheck(checkIdOf(card)!))?.slackTs) return undefined;
        return true;
      },
      15_000,
    );

    now += 2000;
    const reminders = await h.slack.waitFor('chat.postMessage', 6, (c) => threads.includes(String(c.body.thread_ts)), 30_000);
    expect(reminders.every((c) => c.body.channel === CHANNEL)).toBe(true);
    expect(h.slack.rateLimited()).toEqual([]);
  }, 90_000);
});
