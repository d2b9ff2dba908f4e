import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUTHOR } from '../../src/fakes/gitlab.js';
import { appHomeOpened, buttonClick, homeButtonClick, reasonSubmission, sendEvent, sendInteraction, type SlackCall } from '../../src/fakes/slack.js';
import { APPROVER, CHANNEL, SECRETS, type Harness } from '../support/harness.js';
import { PAYMENTS_CHANNEL, startWithPolicy } from '../support/policy.js';
import { holdWriteLock } from '../support/write-lock.js';

const ONCALL = 'C0ONCALL';
const CTO = 'U0CTO';
/** The merge request author's Slack account (their Slack e-mail is their GitLab public e-mail). */
const AUTHOR = 'U0AUTHOR';
const POLICY = `rules:
  - name: payments
    projects: acme/**
    approvers: { slack: [${APPROVER}], web: [alice] }
    escalate_after: 4h
    escalate_to: { channel: ${ONCALL}, slack: [U0LEAD] }
    freezes:
      - { from: "2020-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", reason: "Year-end freeze <!channel>" }
    break_glass: { slack: [${CTO}] }
`;

const start = () => startWithPolicy(POLICY, {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
const submitBreakGlass = (h: Harness, userId: string, checkId: number, reason: string) =>
  sendInteraction(`${h.bot.url}/slack/events`, reasonSubmission({ callbackId: 'break_glass_reason', userId, checkId, text: reason }), SECRETS.signingSecret);
const homeText = (c: SlackCall) => JSON.stringify((c.body.view as { blocks: unknown[] }).blocks);

async function openHome(h: Harness, userId: string): Promise<void> {
  expect((await sendEvent(`${h.bot.url}/slack/events`, appHomeOpened(userId), SECRETS.signingSecret)).status).toBe(200);
  await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === userId);
}

describe('break glass meets the rest of the bot', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('an emergency approval tells the author and redraws open Home tabs, as every decision does', async () => {
    h = await start();
    h.slack.addPerson(AUTHOR, DEFAULT_AUTHOR.email);
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await openHome(h, APPROVER);

    expect((await submitBreakGlass(h, CTO, id, 'Outage fix')).status).toBe(200);
    await h.gitlab.waitForResponses(1);
    expect((await h.bot.store.getCheck(id))?.state).toBe('approved');

    const [dm] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === AUTHOR);
    expect(JSON.stringify(dm!.body.blocks)).toContain(`*approved* by <@${CTO}>`);
    // The approver's tab no longer offers a check that was decided.
    const [, redrawn] = await h.slack.waitFor('views.publish', 2, (c) => c.body.user_id === APPROVER);
    expect(homeText(redrawn!)).toContain('Nothing waits for you');
  });

  it('the Home tab shows the freeze, and its refusal is escaped once: the reason reads as written and pings nobody', async () => {
    h = await start();
    const id = (await h.receive()).body.id as number;
    await openHome(h, APPROVER);
    const [drawn] = h.slack.calls('views.publish');
    expect(homeText(drawn!)).toContain(':snowflake: Frozen: Year-end freeze &lt;!channel&gt;');
    await sendInteraction(`${h.bot.url}/slack/events`, homeButtonClick({ userId: APPROVER, actionId: 'approve_check', value: String(id) }), SECRETS.signingSecret);
    const [told] = await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === APPROVER && homeText(c).includes('is frozen'));
    const text = homeText(told!);
    expect(text).toContain('Year-end freeze &lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('&amp;lt;');
    expect((await h.bot.store.getCheck(id))?.state).toBe('pending');
  });

  it('an emergency approval taken in while the database refuses writes is recorded once it takes them again', async () => {
    h = await start();
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    // The look-up of who approves waits: meanwhile another process takes the write lock.
    const lookup = h.slack.hold('users.info');
    expect((await submitBreakGlass(h, CTO, id, 'Outage fix')).status).toBe(200);
    await lookup.arrived;
    const lock = await holdWriteLock(h.env.DATABASE_PATH!, 3000);
    lookup.release();
    await lock.released;

    await expect.poll(async () => (await h.bot.store.getCheck(id))?.state, { timeout: 30_000 }).toBe('approved');
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    const events = await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id });
    expect(events.filter((e) => e.event === 'break_glass')).toHaveLength(1);
  }, 60_000);
});

describe('a freeze on a rule that names nobody in break_glass', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('an Emergency approve click is told that nobody may, not that this person is not named', async () => {
    h = await startWithPolicy(POLICY.replace(/ {4}break_glass:.*\n/, ''), {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await sendInteraction(
      `${h.bot.url}/slack/events`,
      buttonClick({ userId: CTO, actionId: 'emergency_approve_check', value: String(id), channel: CHANNEL, responseUrl: h.slack.responseUrl(CTO), triggerId: h.slack.triggerId() }),
      SECRETS.signingSecret,
    );
    const [refused] = await h.slack.waitFor('views.update');
    const text = JSON.stringify(refused!.body.view);
    expect(text).toContain('names nobody in break_glass');
    expect(text).not.toContain('You are not named');
    expect((await h.bot.store.getCheck(id))?.state).toBe('pending');
  });
});
