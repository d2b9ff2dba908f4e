import { afterEach, describe, expect, it } from 'vitest';
import { buttonClick, reasonSubmission, sendInteraction, type SlackCall } from '../../src/fakes/slack.js';
import { buttonsOf, cardText, webList, webRow } from '../support/cards.js';
import { APPROVER, basic, CHANNEL, pendingAnswer, SECRETS, type Harness } from '../support/harness.js';
import { eventually } from '../support/eventually.js';
import { mergeRequestInto, nthPrivateReply, PAYMENTS_CHANNEL, startWithPolicy } from '../support/policy.js';

const ONCALL = 'C0ONCALL';
const POLICY = `rules:
  - name: payments
    projects: acme/**
    approvers: { slack: [${APPROVER}], web: [alice] }
    escalate_after: 4h
    escalate_to: { channel: ${ONCALL}, slack: [U0LEAD] }
    freezes:
      - { from: "2020-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", reason: "Year-end freeze <!channel>" }
    break_glass: { slack: [U0CTO] }
`;
const UNFROZEN = POLICY.replace(/ {4}freezes:\n.*\n/, '');

const clickEmergency = (h: Harness, userId: string, checkId: number) =>
  sendInteraction(
    `${h.bot.url}/slack/events`,
    buttonClick({ userId, actionId: 'emergency_approve_check', value: String(checkId), channel: CHANNEL, responseUrl: h.slack.responseUrl(userId), triggerId: h.slack.triggerId() }),
    SECRETS.signingSecret,
  );
const submitBreakGlass = (h: Harness, userId: string, checkId: number, reason: string | null) =>
  sendInteraction(`${h.bot.url}/slack/events`, reasonSubmission({ callbackId: 'break_glass_reason', userId, checkId, text: reason }), SECRETS.signingSecret);

async function waitingCard(h: Harness): Promise<{ id: number; card: SlackCall }> {
  const id = (await h.receive()).body.id as number;
  const [card] = await h.slack.waitFor('chat.postMessage');
  return { id, card: card! };
}

async function webForm(h: Harness, id: number, action: string, fields: Record<string, string>): Promise<Response> {
  const html = await webList(h);
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return fetch(`${h.bot.url}/checks/${id}/${action}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, ...fields }).toString(),
  });
}

describe('freezes and break glass', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('a freeze covering now refuses approval with its reason; a rejection still counts', async () => {
    h = await startWithPolicy(POLICY, {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
    const { id, card } = await waitingCard(h);
    expect(cardText(card)).toContain(':snowflake: *Frozen*: Year-end freeze &lt;!channel&gt;');
    expect(buttonsOf(card).map((b) => b.action_id)).toEqual(['approve_check', 'reject_check', 'emergency_approve_check']);

    await h.click(APPROVER, 'approve_check', id);
    const refusal = await nthPrivateReply(h, 1);
    expect(refusal).toContain('acme/payments-api!128 is frozen (rule “payments”): Year-end freeze &lt;!channel&gt;. Approvals are refused until the freeze ends');
    expect(refusal).toContain('Emergency approve');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', approvals: [] });

    // The web list and /pending show the freeze too.
    const row = webRow(await webList(h), id);
    expect(row).toContain('Frozen: Year-end freeze &lt;!channel&gt;');
    expect(row).toContain(`action="/checks/${id}/emergency"`);
    const pending = await pendingAnswer(h);
    expect(JSON.stringify(pending.blocks)).toContain(':snowflake: *Frozen*: Year-end freeze &lt;!channel&gt;');

    await h.click(APPROVER, 'reject_check', id);
    await h.slack.waitFor('views.open');
    expect((await h.submitReject(APPROVER, id, 'Not during the freeze')).status).toBe(200);
    await h.gitlab.waitForResponses(1);
    expect(h.gitlab.responses[0]!.body).toMatchObject({ status: 'failed' });
  });

  it('break glass passes with the reason: the note, the audit event and the escalation channel', async () => {
    h = await startWithPolicy(POLICY, {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
    const { id } = await waitingCard(h);

    // Someone not in break_glass: the modal opens at once (Slack's 3 seconds), then turns into the refusal.
    await clickEmergency(h, APPROVER, id);
    const [refused] = await h.slack.waitFor('views.update');
    expect(JSON.stringify(refused!.body.view)).toContain('You are not named in break_glass');

    await clickEmergency(h, 'U0CTO', id);
    const [, modal] = await h.slack.waitFor('views.open', 2);
    expect((modal!.body.view as { callback_id: string }).callback_id).toBe('break_glass_reason');

    // A reason is always needed: an empty one is shown in the modal and nothing is recorded.
    const empty = await submitBreakGlass(h, 'U0CTO', id, '   ');
    expect(await empty.json()).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringContaining('needs a reason') } });
    expect((await h.bot.store.getCheck(id))?.state).toBe('pending');

    const reason = 'Outage fix @everyone [click](https://evil.example) <b>now</b>';
    expect((await submitBreakGlass(h, 'U0CTO', id, reason)).status).toBe(200);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed', external_status_check_id: 7 });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: 'U0CTO', reason });

    await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path.endsWith('/notes'));
    const note = String(h.gitlab.notes[0]!.body.body);
    expect(note).toContain('**Emergency approval** (break glass) by u0cto in Slack');
    expect(note).toContain('> Outage fix @\u200Deveryone \\[click\\]\\(https://evil.example\\)');
    expect(note).toContain('\\<b\\>now\\</b\\>');
    expect(note).not.toContain(' @everyone');

    const [told] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === ONCALL);
    expect(String(told!.body.text)).toContain('*Emergency approval* during the freeze “Year-end freeze &lt;!channel&gt;”');
    expect(String(told!.body.text)).toContain('<@U0CTO>');
    expect(String(told!.body.text)).toContain('&lt;b&gt;now&lt;/b&gt;');

    const events = await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id });
    expect(events.find((e) => e.event === 'break_glass')).toMatchObject({ actor: 'u0cto', via: 'slack', detail: `during the freeze “Year-end freeze <!channel>”: ${reason}` });
  });

  it('break glass allowed under the old rule is refused when the rule changed while it was checked', async () => {
    const frozen = `    freezes:
      - { from: "2020-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", reason: "Year-end freeze" }`;
    h = await startWithPolicy(
      `rules:
  - name: release
    projects: acme/*
    branches: release
    approvers: { slack: [${APPROVER}] }
${frozen}
    break_glass: { slack: [U0VP] }
  - name: main
    projects: acme/*
    branches: main
    approvers: { slack: [${APPROVER}] }
${frozen}
    break_glass: { slack: [U0CTO] }
`,
      {},
      { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] },
    );
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'main'))).body.id as number;
    await h.slack.waitFor('chat.postMessage');

    // The policy asks Slack who U0CTO is (allowed under "main"); meanwhile GitLab says the
    // merge request now targets release, whose break_glass names someone else.
    const lookup = h.slack.hold('users.info');
    const submitted = submitBreakGlass(h, 'U0CTO', id, 'Outage fix');
    await lookup.arrived;
    expect((await h.receive(mergeRequestInto('acme/payments-api', 'release'))).status).toBeLessThan(300);
    lookup.release();
    expect((await submitted).status).toBe(200);

    const events = async () => (await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id })).map((e) => e.event);
    await eventually('the emergency approval settled', async () => ((await events()).includes('refused') ? true : undefined));
    expect(await events()).not.toContain('break_glass');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', ruleName: 'release', approvals: [] });
    expect(h.gitlab.statusOf(42, 128, 7, (await h.bot.store.getCheck(id))!.sha)).not.toBe('passed');
  });

  it('on the web list, break glass asks for a reason too, and only break_glass people pass', async () => {
    h = await startWithPolicy(POLICY, {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
    const { id } = await waitingCard(h);
    const noReason = await webForm(h, id, 'emergency', { reason: '' });
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toContain('needs a reason');
    const notNamed = await webForm(h, id, 'emergency', { reason: 'Hotfix' });
    expect(notNamed.status).toBe(403);
    expect(await notNamed.text()).toContain('not named in break_glass');
    const frozen = await webForm(h, id, 'approve', {});
    expect(frozen.status).toBe(409);
    expect(await frozen.text()).toContain('Year-end freeze');
    expect((await h.bot.store.getCheck(id))?.state).toBe('pending');
  });

  it('outside a freeze there is no Emergency approve, and approving works as usual', async () => {
    h = await startWithPolicy(UNFROZEN, {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
    const { id, card } = await waitingCard(h);
    expect(buttonsOf(card).map((b) => b.action_id)).toEqual(['approve_check', 'reject_check']);
    expect(cardText(card)).not.toContain('Frozen');
    expect(webRow(await webList(h), id)).not.toContain('emergency');
    await clickEmergency(h, 'U0CTO', id);
    expect(await nthPrivateReply(h, 1)).toContain('is not frozen now');
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    expect((await h.bot.store.getCheck(id))?.state).toBe('approved');
  });

  it('a freeze under a rule that names nobody in break_glass shows the freeze, but no Emergency approve', async () => {
    h = await startWithPolicy(POLICY.replace(/ {4}break_glass:.*\n/, ''), {}, { channels: [CHANNEL, PAYMENTS_CHANNEL, ONCALL] });
    const { id, card } = await waitingCard(h);
    expect(cardText(card)).toContain('*Frozen*');
    expect(buttonsOf(card).map((b) => b.action_id)).toEqual(['approve_check', 'reject_check']);
    const row = webRow(await webList(h), id);
    expect(row).toContain('Frozen: Year-end freeze');
    expect(row).not.toContain('emergency');
  });
});
