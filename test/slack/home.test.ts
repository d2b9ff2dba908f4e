import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appHomeOpened, homeButtonClick, sendEvent, sendInteraction } from '../../src/fakes/slack.js';
import { APPROVER, OUTSIDER, SECRETS, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';

type Block = { type: string; block_id?: string; text?: { text: string }; elements?: Array<{ action_id?: string; value?: string; text?: { text: string } }> };
const textOf = (blocks: Block[]) => JSON.stringify(blocks);
const buttons = (blocks: Block[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);

/** The author of the sample merge request's newest commit, as the fixture names them. */
const AUTHOR_EMAIL = 'dana.reyes@example.com';

describe('the Slack Home tab', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const openHome = async (userId: string, count = 1) => {
    const res = await sendEvent(`${h.bot.url}/slack/events`, appHomeOpened(userId), SECRETS.signingSecret);
    expect(res.status).toBe(200);
    await h.slack.waitFor('views.publish', count, (c) => c.body.user_id === userId);
    return h.slack.homeViews(userId).at(-1)!.blocks as Block[];
  };

  it('shows an approver what waits for them, oldest first, with age, rule, approvals and the card’s buttons', async () => {
    const first = (await h.receive(statusCheck({ iid: 201, title: 'Older one' }))).body.id as number;
    const second = (await h.receive(statusCheck({ iid: 202, title: 'Newer <!channel> & one' }))).body.id as number;

    const blocks = await openHome(APPROVER);
    const [publish] = h.slack.calls('views.publish');
    expect(publish!.body.user_id).toBe(APPROVER);
    expect((publish!.body.view as { type: string }).type).toBe('home');
    const text = textOf(blocks);
    expect(text).toContain('Waiting for you (2)');
    expect(text.indexOf('!201')).toBeLessThan(text.indexOf('!202'));
    expect(text).toMatch(/waiting \d+ min/);
    expect(text).toContain('rule *default*');
    expect(text).toContain('0 of 1 approval, 1 more needed');
    // User text is escaped: no channel ping from a title.
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('Newer &lt;!channel&gt; &amp; one');
    expect(buttons(blocks)).toEqual([
      expect.objectContaining({ action_id: 'approve_check', value: String(first) }),
      expect.objectContaining({ action_id: 'reject_check', value: String(first) }),
      expect.objectContaining({ action_id: 'approve_check', value: String(second) }),
      expect.objectContaining({ action_id: 'reject_check', value: String(second) }),
    ]);
  });

  it('shows someone who may not decide nothing to decide, and only the Home tab is drawn', async () => {
    await h.receive();
    const blocks = await openHome(OUTSIDER);
    expect(textOf(blocks)).toContain('Nothing waits for you');
    expect(buttons(blocks)).toEqual([]);
    await sendEvent(`${h.bot.url}/slack/events`, appHomeOpened(APPROVER, 'messages'), SECRETS.signingSecret);
    await openHome(OUTSIDER, 2);
    expect(h.slack.homeViews(APPROVER)).toHaveLength(0);
  });

  it('stays within 100 blocks when many checks wait, says how many more and links the web list', async () => {
    for (let i = 0; i < 45; i += 1) await h.receive(statusCheck({ iid: 300 + i, sha: sha(300 + i) }));
    const blocks = await openHome(APPROVER);
    expect(h.slack.refused.calls.filter((c) => c.method === 'views.publish')).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(100);
    const text = textOf(blocks);
    expect(text).toContain('Waiting for you (45)');
    expect(text).toContain('…and 5 more: <https://approvals.example.com/|see them all on the web list>');
    expect(buttons(blocks)).toHaveLength(80);
  });

  it('keeps a title full of ampersands within the section limit, never cutting an escape', async () => {
    await h.receive(statusCheck({ title: '&'.repeat(2000) }));
    const blocks = await openHome(APPROVER);
    const section = blocks.find((b) => b.type === 'section' && b.text?.text.includes('!128'))!;
    expect(section.text!.text.length).toBeLessThanOrEqual(3000);
    expect(section.text!.text).toMatch(/(&amp;)+…/);
  });

  it('Approve on the Home tab reports to GitLab and draws the tab again without the check', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await openHome(APPROVER);

    const click = await sendInteraction(`${h.bot.url}/slack/events`, homeButtonClick({ userId: APPROVER, actionId: 'approve_check', value: String(id) }), SECRETS.signingSecret);
    expect(click.status).toBe(200);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed', external_status_check_id: 7 });

    const [refreshed] = await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === APPROVER && textOf((c.body.view as { blocks: Block[] }).blocks).includes('Your recent decisions') && textOf((c.body.view as { blocks: Block[] }).blocks).includes('approved <'));
    const blocks = (refreshed!.body.view as { blocks: Block[] }).blocks;
    expect(textOf(blocks)).toContain('Nothing waits for you');
    expect(buttons(blocks)).toEqual([]);
    expect(textOf(blocks)).toContain(`https://approvals.example.com/checks/${id}|history`);
    // The card in the channel follows too: the same decision path.
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
  });

  it('Reject on the Home tab asks for a reason in the same modal, and the rejection reaches GitLab', async () => {
    const id = (await h.receive()).body.id as number;
    await openHome(APPROVER);
    await sendInteraction(`${h.bot.url}/slack/events`, homeButtonClick({ userId: APPROVER, actionId: 'reject_check', value: String(id), triggerId: h.slack.triggerId() }), SECRETS.signingSecret);
    const [modal] = await h.slack.waitFor('views.open');
    expect((modal!.body.view as { callback_id: string }).callback_id).toBe('reject_reason');
    await h.submitReject(APPROVER, id, 'Not this week');
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed' });
    await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === APPROVER && textOf((c.body.view as { blocks: Block[] }).blocks).includes(':red_circle: rejected'));
  });

  it('a refused click on the Home tab is explained on the tab itself', async () => {
    const id = (await h.receive()).body.id as number;
    await openHome(OUTSIDER);
    await sendInteraction(`${h.bot.url}/slack/events`, homeButtonClick({ userId: OUTSIDER, actionId: 'approve_check', value: String(id) }), SECRETS.signingSecret);
    const [told] = await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === OUTSIDER && textOf((c.body.view as { blocks: Block[] }).blocks).includes('not one of the approvers'));
    expect(told).toBeDefined();
    expect(h.gitlab.responses).toHaveLength(0);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
  });

  it('shows people their own merge requests waiting on others, matched by their Slack e-mail', async () => {
    h.slack.setEmail(OUTSIDER, AUTHOR_EMAIL);
    await h.receive();
    const blocks = await openHome(OUTSIDER);
    const text = textOf(blocks);
    expect(text).toContain('Your merge requests waiting on others');
    expect(text).toContain('acme/payments-api!128');
    expect(buttons(blocks)).toEqual([]);

    const other = await openHome(APPROVER);
    expect(textOf(other)).not.toContain('Your merge requests waiting on others');
  });

  it('the Home tab of someone who opened it is drawn again after another approver decides', async () => {
    const id = (await h.receive()).body.id as number;
    const before = await openHome(APPROVER);
    expect(buttons(before)).toHaveLength(2);
    await h.click('U0SECOND', 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    const [after] = await h.slack.waitFor('views.publish', 2, (c) => c.body.user_id === APPROVER);
    expect(after).toBeDefined();
    const last = h.slack.homeViews(APPROVER).at(-1)!.blocks as Block[];
    expect(buttons(last)).toEqual([]);
  });
});
