import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APPROVER, CHANNEL, OUTSIDER, SECOND_APPROVER, startHarness, statusCheck, type Harness } from '../support/harness.js';

type Block = { type: string; elements?: Array<{ action_id?: string; style?: string; value?: string }>; text?: { text: string } };
const blocksOf = (call: { body: Record<string, unknown> }) => call.body.blocks as Block[];
const buttons = (blocks: Block[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
const allText = (blocks: Block[]) => JSON.stringify(blocks);

describe('deciding in Slack', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('an approval posts a card, reports passed to GitLab once and shows who approved', async () => {
    const received = await h.receive();
    expect(received.status).toBe(202);
    expect(received.body).toEqual({ id: expect.any(Number), state: 'pending' });
    const id = received.body.id as number;

    const [card] = await h.slack.waitFor('chat.postMessage');
    expect(card!.body.channel).toBe(CHANNEL);
    expect(card!.body.text).toContain('acme/payments-api!128');
    expect(buttons(blocksOf(card!))).toEqual([
      expect.objectContaining({ action_id: 'approve_check', style: 'primary', value: String(id) }),
      expect.objectContaining({ action_id: 'reject_check', style: 'danger', value: String(id) }),
    ]);
    expect(allText(blocksOf(card!))).toContain('*failed* after 2 minutes on a new merge request');

    const click = await h.click(APPROVER, 'approve_check', id);
    expect(click.status).toBe(200);

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.path).toBe('/api/v4/projects/42/merge_requests/128/status_check_responses');
    expect(report!.body).toEqual({ sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4', external_status_check_id: 7, status: 'passed' });

    const updates = await h.slack.waitFor('chat.update', 1, (c) => allText(blocksOf(c)).includes('Reported to GitLab'));
    const final = blocksOf(updates[0]!);
    expect(buttons(final)).toEqual([]);
    expect(allText(final)).toContain(`Approved* by <@${APPROVER}>`);
    expect(h.gitlab.responses).toHaveLength(1);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported', decidedBy: APPROVER, decidedVia: 'slack' });
  });

  it('a rejection asks for a reason, reports failed and shows the reason', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await h.click(APPROVER, 'reject_check', id);
    const [modal] = await h.slack.waitFor('views.open');
    expect((modal!.body.view as { callback_id: string }).callback_id).toBe('reject_reason');
    expect(h.gitlab.responses).toHaveLength(0);

    const submit = await h.submitReject(APPROVER, id, 'Needs a <b>migration</b> plan');
    expect(submit.status).toBe(200);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed', external_status_check_id: 7 });
    const [update] = await h.slack.waitFor('chat.update', 1, (c) => allText(blocksOf(c)).includes('Reported to GitLab'));
    const text = allText(blocksOf(update!));
    expect(text).toContain('Rejected* by');
    expect(text).toContain('Needs a &lt;b&gt;migration&lt;/b&gt; plan');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', reason: 'Needs a <b>migration</b> plan' });
  });

  it('a card deleted in Slack: the approval still reaches GitLab, and the refused update is not retried', async () => {
    const id = (await h.receive()).body.id as number;
    const ts = await vi.waitFor(async () => (await h.bot.store.getCheck(id))?.slackTs ?? expect.fail('the card is not recorded yet'), { timeout: 10_000, interval: 20 });
    h.slack.deleteMessage(CHANNEL, ts);
    await h.click(APPROVER, 'approve_check', id);

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    // One update for the approval, one for the report: each refused once, neither retried.
    const refused = await h.slack.refused.waitFor((c) => c.method === 'chat.update', 2);
    expect(refused.every((c) => c.body.ts === ts)).toBe(true);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported' });
    // A later card is posted as usual: the refused updates held nothing up.
    await h.receive(statusCheck({ iid: 129 }));
    await h.slack.waitFor('chat.postMessage', 2);
    expect(h.slack.refused.calls.filter((c) => c.method === 'chat.update')).toHaveLength(2);
  });

  it('a non-approver is refused privately, nothing reaches GitLab and the card stays', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await h.click(OUTSIDER, 'approve_check', id);
    const [refusal] = await h.slack.waitFor('response_url');
    expect(refusal!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(refusal!.body.text)).toContain('not one of the approvers');
    // The refusal is sent after the check was looked at; nothing may have been queued.
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
    expect(h.gitlab.responses).toHaveLength(0);
    expect(h.slack.calls('chat.update')).toHaveLength(0);
  });

  it('members of an approver user group may decide', async () => {
    await h.stop();
    h = await startHarness({ APPROVERS: 'S0RELEASE' });
    h.slack.setGroup('S0RELEASE', ['U0GROUPIE']);
    const id = (await h.receive()).body.id as number;
    await h.click('U0GROUPIE', 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    await h.click(OUTSIDER, 'approve_check', id);
    await h.slack.waitFor('response_url');
    expect(h.slack.calls('usergroups.users.list')).toHaveLength(1); // cached
    expect(h.gitlab.responses).toHaveLength(1);
  });

  it('two approvers clicking at once: one decision, one GitLab call, the second told who decided', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await Promise.all([h.click(APPROVER, 'approve_check', id), h.click(SECOND_APPROVER, 'approve_check', id)]);
    await h.gitlab.waitForResponses(1);
    const [late] = await h.slack.waitFor('response_url');
    expect(String(late!.body.text)).toMatch(/already approved by u0(approver|second)/);
    await h.slack.waitFor('chat.update', 1, (c) => allText(blocksOf(c)).includes('Reported to GitLab'));
    expect(h.gitlab.responses).toHaveLength(1);
  });

  it('the same webhook delivered twice makes one check and one card', async () => {
    const first = await h.receive();
    const second = await h.receive();
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    await h.slack.waitFor('chat.postMessage');
    // A third, different merge request proves the worker moved past the duplicate.
    await h.receive(statusCheck({ iid: 129 }));
    await h.slack.waitFor('chat.postMessage', 2);
    expect(h.slack.calls('chat.postMessage')).toHaveLength(2);
  });

  it('escapes a title that tries to ping the channel', async () => {
    await h.receive(statusCheck({ title: 'Fix <!channel> & <@U123> <https://evil.example|login>' }));
    const [card] = await h.slack.waitFor('chat.postMessage');
    const text = JSON.stringify(card!.body.blocks) + String(card!.body.text);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U123>');
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
  });
});
