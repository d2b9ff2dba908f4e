import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { APPROVER, basic, SECOND_APPROVER, startHarness, statusCheck, type Harness } from '../support/harness.js';

async function webList(h: Harness): Promise<string> {
  const res = await fetch(`${h.bot.url}/`, { headers: { authorization: basic() } });
  expect(res.status).toBe(200);
  return res.text();
}

const row = (html: string, id: number): string => {
  const match = new RegExp(`<tr class="([a-z]+)" id="check-${id}">[\\s\\S]*?</tr>`).exec(html);
  if (!match) throw new Error(`check ${id} is not on the web list`);
  return match[0];
};

describe('a restart keeps every check and decision', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('checks, decisions and cards survive a restart, and a decided check stays decided', async () => {
    const approved = (await h.receive(statusCheck({ iid: 128, title: 'Retry card capture' }))).body.id as number;
    const waiting = (await h.receive(statusCheck({ iid: 129, title: 'Rotate webhook keys' }))).body.id as number;
    await h.slack.waitFor('chat.postMessage', 2);
    await h.click(APPROVER, 'approve_check', approved);
    await h.gitlab.waitForResponses(1);
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    const before = { approved: (await h.bot.store.getCheck(approved)), waiting: (await h.bot.store.getCheck(waiting)) };

    const old = h.bot;
    await h.restart();
    // A new bot, reading the same database file.
    expect(h.bot).not.toBe(old);
    expect(h.bot.store).not.toBe(old.store);

    expect(await h.bot.store.getCheck(approved)).toEqual(before.approved);
    expect(await h.bot.store.getCheck(waiting)).toEqual(before.waiting);
    expect(await h.bot.store.getCheck(approved)).toMatchObject({ state: 'approved', report: 'reported', decidedBy: APPROVER, decidedVia: 'slack', slackTs: expect.any(String) });
    expect(await h.bot.store.getCheck(waiting)).toMatchObject({ state: 'pending', decidedBy: null, slackTs: expect.any(String) });
    expect(await h.bot.store.decisionsOf(approved)).toEqual([expect.objectContaining({ outcome: 'approve', actorId: APPROVER, via: 'slack' })]);
    expect(await h.bot.store.countPending()).toBe(1);

    const html = await webList(h);
    expect(row(html, approved)).toMatch(/<span class="badge approved">Approved<\/span>[\s\S]*reported to GitLab/);
    expect(row(html, approved)).toContain('Retry card capture');
    expect(row(html, waiting)).toContain('<span class="badge pending">Waiting</span>');
    expect(row(html, waiting)).toContain('Rotate webhook keys');

    // A late click on the decided card is refused, and GitLab hears nothing more.
    await h.click(SECOND_APPROVER, 'approve_check', approved);
    const [refusal] = await h.slack.waitFor('response_url');
    expect(refusal!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(refusal!.body.text)).toBe(`acme/payments-api!128 was already approved by ${APPROVER.toLowerCase()}.`);
    expect(await h.bot.store.decisionsOf(approved)).toHaveLength(1);

    // The waiting one can still be decided after the restart.
    await h.click(SECOND_APPROVER, 'approve_check', waiting);
    const reports = await h.gitlab.waitForResponses(2);
    expect(reports.map((r) => r.path)).toEqual([
      '/api/v4/projects/42/merge_requests/128/status_check_responses',
      '/api/v4/projects/42/merge_requests/129/status_check_responses',
    ]);
  });

  it('a webhook repeated after a restart is the same check, with no second card', async () => {
    const first = await h.receive();
    await h.slack.waitFor('chat.postMessage');
    await h.restart();

    const again = await h.receive();
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: first.body.id, state: 'pending' });
    // Another merge request's card proves the worker has moved past the repeat.
    await h.receive(statusCheck({ iid: 130 }));
    await h.slack.waitFor('chat.postMessage', 2);
    expect(h.slack.calls('chat.postMessage').map((c) => String(c.body.text))).toEqual([
      expect.stringContaining('acme/payments-api!128'),
      expect.stringContaining('acme/payments-api!130'),
    ]);
  });

  it('a card Slack refused for good before the restart is posted again after it', async () => {
    // Slack refuses the card for good (a bad channel): the check is kept, pending.
    h.slack.queue('chat.postMessage', { status: 200, body: { ok: false, error: 'not_in_channel' } });
    const id = (await h.receive()).body.id as number;
    await h.slack.refused.waitFor((c) => c.method === 'chat.postMessage');
    await h.restart(); // waits for the delivery in flight, so the failure is recorded
    // After the restart the card gets another try, without waiting for GitLab to call again
    // (it may already have had it: the failure recorded before the restart is in the trail).
    const [card] = await h.slack.waitFor('chat.postMessage');
    const trail = await eventually('the card written down', async () => {
      const events = await h.bot.store.auditEvents({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id, limit: 100 });
      return events.some((e) => e.event === 'card_posted') ? events : undefined;
    });
    const events = trail.map((e) => e.event);
    expect(events.indexOf('card_failed')).toBeLessThan(events.indexOf('card_posted'));
    expect(trail.find((e) => e.event === 'card_failed')?.detail).toContain('not_in_channel');
    expect(String(card!.body.text)).toContain('Retry card capture on gateway timeout');
    // An edit afterwards updates that card, and the card works.
    expect((await h.receive(statusCheck({ title: 'Retry card capture (edited)' }))).body.id).toBe(id);
    await h.slack.waitFor('chat.update', 1, (c) => String(c.body.text).includes('(edited)'));
    await h.click(APPROVER, 'approve_check', id);
    const [update] = await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported', slackTs: update!.body.ts, cardError: null });
  });
});
