import { afterEach, describe, expect, it } from 'vitest';
import type { SlackCall } from '../../src/fakes/slack.js';
import { CHANNEL, sha, statusCheck, type Harness } from '../support/harness.js';
import { nthPrivateReply, PAYMENTS_CHANNEL, startWithPolicy } from '../support/policy.js';

const ONCALL = 'C0ONCALL';
// In the past: the outbox's worker runs on real time, so work queued at these times is due at once.
const MONDAY_9AM = Date.parse('2026-11-30T09:00:00Z');

/** A clock the test moves by hand; the bot reads it for everything it schedules. */
function handClock(start: number) {
  let now = start;
  return { clock: () => new Date(now), advance: (ms: number) => (now += ms), set: (at: number) => (now = at) };
}

const policy = (extra: string) => `rules:
  - name: payments
    projects: acme/**
    approvers: { slack: [U0PAY1, S0PAYLEADS] }
${extra}`;

const threadReplies = (h: Harness, ts: string): SlackCall[] => h.slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === ts);

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

async function cardOf(h: Harness): Promise<{ id: number; ts: string }> {
  const id = (await h.receive()).body.id as number;
  const [card] = await h.slack.waitFor('chat.postMessage');
  await eventually(async () => (await h.bot.store.getCheck(id))?.slackTs);
  return { id, ts: String(((await h.bot.store.getCheck(id)) as { slackTs: string }).slackTs ?? card!.body.ts) };
}

describe('reminders and escalation', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('reminds the approvers in the thread, escalates once, lets the backup decide only after, and stops at the decision', async () => {
    const time = handClock(MONDAY_9AM);
    h = await startWithPolicy(
      policy(`    remind_after: 2s
    remind_every: 3s
    escalate_after: 4s
    escalate_to: { channel: ${ONCALL}, slack: [U0LEAD], gitlab: [lead] }
`),
      {},
      { clock: time.clock, channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] },
    );
    h.slack.setGroup('S0PAYLEADS', ['U0PAY2']);
    const { id, ts } = await cardOf(h);

    // Before escalation the backup approver may not decide.
    await h.click('U0LEAD', 'approve_check', id);
    expect(await nthPrivateReply(h, 1)).toContain('You are not one of the approvers for this check (rule “payments”)');

    time.advance(2000);
    const [reminder] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.thread_ts === ts);
    expect(reminder!.body.channel).toBe(CHANNEL);
    expect(String(reminder!.body.text)).toContain('<@U0PAY1> <!subteam^S0PAYLEADS>');
    expect(String(reminder!.body.text)).toContain('has waited 2 seconds for a decision');
    expect(String(reminder!.body.text)).toContain('acme/payments-api!128');

    time.advance(2000);
    const [escalation] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === ONCALL);
    const text = String(escalation!.body.text);
    expect(text).toContain('*Escalated*');
    expect(text).toContain('<@U0LEAD>');
    expect(text).toContain('@lead (on the web list, signed in with GitLab)');
    expect(text).toContain(`https://slack.com/archives/${CHANNEL}/p${ts.replace('.', '')}`);
    expect(text).toContain('https://gitlab.example.com/acme/payments-api/-/merge_requests/128');
    expect((await h.bot.store.getCheck(id))?.escalatedAt).toEqual(new Date(MONDAY_9AM + 4000));

    // Now the backup approver may: the check is approved and reported.
    await h.click('U0LEAD', 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: 'U0LEAD' });

    // Nothing after the decision: the next reminder's time passes, and its row is dropped unsent.
    const before = threadReplies(h, ts).length;
    time.advance(60_000);
    await eventually(async () => (await h.bot.store.nudgesOf(id)).length === 0);
    expect(threadReplies(h, ts)).toHaveLength(before);
    expect(h.slack.calls('chat.postMessage').filter((c) => c.body.channel === ONCALL)).toHaveLength(1);
    const events = (await h.bot.gate.history({ from: new Date(0), to: new Date(MONDAY_9AM + 3_600_000), checkId: id })).map((e) => e.event);
    expect(events.filter((e) => e === 'escalated')).toHaveLength(1);
    expect(events).toContain('reminded');
  });

  it('a restart between the card and the reminder neither loses nor doubles it', async () => {
    const time = handClock(MONDAY_9AM);
    h = await startWithPolicy(
      policy(`    remind_after: 2s
    escalate_after: 4s
    escalate_to: { slack: [U0LEAD] }
`),
      {},
      { clock: time.clock },
    );
    const { id, ts } = await cardOf(h);
    await h.restart();

    time.advance(2000);
    await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.thread_ts === ts);
    await h.restart();

    // The escalation comes after the reminder on the same lane: once it is out, a second reminder would be too.
    time.advance(2000);
    const [escalation] = await h.slack.waitFor('chat.postMessage', 1, (c) => String(c.body.text).includes('*Escalated*'));
    // No escalate_to channel: the escalation goes to the card's channel.
    expect(escalation!.body.channel).toBe(CHANNEL);
    expect(threadReplies(h, ts)).toHaveLength(1);
    expect(await h.bot.store.nudgesOf(id)).toEqual([]);
  });

  it('working hours hold reminders back to the next working minute', async () => {
    const saturday = Date.parse('2026-11-28T10:00:00Z');
    const time = handClock(saturday);
    h = await startWithPolicy(
      policy(`    remind_after: 2s
    working_hours: { days: [Mon, Tue, Wed, Thu, Fri], from: "09:00", to: "18:00", timezone: UTC }
`),
      {},
      { clock: time.clock },
    );
    const { id, ts } = await cardOf(h);
    // Counted in working time: two seconds into Monday.
    expect(await h.bot.store.nudgesOf(id)).toEqual([{ kind: 'remind', dueAt: MONDAY_9AM + 2000 }]);

    time.set(MONDAY_9AM + 2000);
    const [reminder] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.thread_ts === ts);
    expect(String(reminder!.body.text)).toContain('has waited 47 hours');
  });

  it('a superseded check gets no reminder; the newest card does', async () => {
    const time = handClock(MONDAY_9AM);
    h = await startWithPolicy(policy('    remind_after: 2s\n'), {}, { clock: time.clock });
    const old = await cardOf(h);
    expect((await h.receive(statusCheck({ sha: sha(2) }))).status).toBe(202);
    await h.slack.waitFor('chat.postMessage', 2);
    expect((await h.bot.store.getCheck(old.id))?.state).toBe('superseded');
    const newestTs = await eventually(async () => (await h.bot.store.pendingChecks(10))[0]?.slackTs);

    time.advance(2000);
    const [reminder] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.thread_ts !== undefined);
    expect(reminder!.body.thread_ts).toBe(newestTs);
    await eventually(async () => (await h.bot.store.nudgesOf(old.id)).length === 0);
    expect(threadReplies(h, old.ts)).toHaveLength(0);
  });
});
