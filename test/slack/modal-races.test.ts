import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { buttonClick, reasonSubmission, sendInteraction } from '../../src/fakes/slack.js';
import { APPROVER, CHANNEL, OUTSIDER, SECRETS, startHarness, tempDir, type Harness } from '../support/harness.js';

const GROUP = 'S0RELEASE';
/** Slack's group look-up takes this long: time enough to submit the form before the answer. */
const SLOW_MS = 4000;

describe('a modal and what happens while it is open', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('someone not allowed submits before the refusal could replace the form: told privately, nothing recorded', async () => {
    h = await startHarness({ APPROVERS: GROUP, REQUEST_TIMEOUT_MS: '20000' });
    h.slack.setGroup(GROUP, [APPROVER]);
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    h.slack.slow('usergroups.users.list', SLOW_MS);

    const responseUrl = h.slack.responseUrl();
    await h.click(OUTSIDER, 'reject_check', id, { responseUrl });
    await h.slack.waitFor('views.open');
    // Submitted at once: Slack closes the modal, so it can no longer be updated.
    h.slack.closeViews();
    expect((await h.submitReject(OUTSIDER, id, 'no')).status).toBe(200);

    const path = new URL(responseUrl).pathname;
    const [reply] = await h.slack.waitFor('response_url', 1, (c) => c.path === path, 30_000);
    expect(String(reply!.body.text)).toContain('not one of the approvers');
    expect(h.slack.refused.calls.filter((c) => c.method === 'views.update')).toHaveLength(1);
    const [told] = await h.slack.waitFor('chat.postEphemeral', 1, () => true, 30_000);
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: OUTSIDER });
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(h.gitlab.responses).toEqual([]);
  }, 60_000);

  it('two reject forms submitted together: one rejection, reported once; the other is told privately', async () => {
    h = await startHarness();
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');

    const [a, b] = await Promise.all([h.submitReject(APPROVER, id, 'first'), h.submitReject(APPROVER, id, 'second')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(String(told!.body.text)).toContain('already rejected');
    await h.gitlab.waitForResponses(1);
    expect(await h.bot.store.decisionsOf(id)).toHaveLength(1);
    expect(h.gitlab.responses.map((r) => r.body.status)).toEqual(['failed']);
    expect(await h.bot.store.openRequests()).toEqual([]);
  });

  it('a refusal after a form opened from /pending in a channel the bot is not in reaches the person in the card’s channel', async () => {
    h = await startHarness();
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    const elsewhere = 'C0NOBOTHERE';
    const click = buttonClick({ userId: OUTSIDER, actionId: 'reject_check', value: String(id), channel: elsewhere, ephemeral: true, responseUrl: h.slack.responseUrl(), triggerId: h.slack.triggerId() });
    await sendInteraction(`${h.bot.url}/slack/events`, click, SECRETS.signingSecret);
    const [opened] = await h.slack.waitFor('views.open');
    const metadata = (opened!.body.view as { private_metadata: string }).private_metadata;

    const submission = reasonSubmission({ callbackId: 'reject_reason', userId: OUTSIDER, checkId: id, text: 'no' });
    (submission.view as { private_metadata: string }).private_metadata = metadata;
    await sendInteraction(`${h.bot.url}/slack/events`, submission, SECRETS.signingSecret);

    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: OUTSIDER });
    expect(String(told!.body.text)).toContain('not one of the approvers');
    expect(h.slack.refused.calls.filter((c) => c.method === 'chat.postEphemeral').map((c) => c.body.channel)).toEqual([elsewhere]);
  });

  it('a form Slack refuses for another reason than time is not answered “click again”, and the log names the field', async () => {
    const logFile = path.join(tempDir(), 'bot.log');
    h = await startHarness({}, { logFile });
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    h.slack.queue('views.open', { status: 200, body: { ok: false, error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'] } } });

    const responseUrl = h.slack.responseUrl();
    await h.click(APPROVER, 'reject_check', id, { responseUrl });
    const [reply] = await h.slack.waitFor('response_url', 1, (c) => c.path === new URL(responseUrl).pathname);
    expect(String(reply!.body.text)).toContain('(invalid_arguments), so nothing was recorded');
    expect(String(reply!.body.text)).not.toContain('click the button again');
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    await expect.poll(() => fs.readFileSync(logFile, 'utf8'), { timeout: 10_000 }).toContain('[json-pointer:/view/title/text]');
    fs.rmSync(path.dirname(logFile), { recursive: true, force: true });
  });

  it('a trigger that expired before the form could open: the person is asked to click again', async () => {
    h = await startHarness();
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    const responseUrl = h.slack.responseUrl();
    const click = buttonClick({ userId: APPROVER, actionId: 'reject_check', value: String(id), channel: CHANNEL, responseUrl, triggerId: h.slack.triggerId() });
    // The click reached the bot late (a slow network): Slack's clock is past the trigger's 3 s.
    const issued = Date.now();
    h.slack.now = () => issued + 3500;
    await sendInteraction(`${h.bot.url}/slack/events`, click, SECRETS.signingSecret);

    const [reply] = await h.slack.waitFor('response_url', 1, (c) => c.path === new URL(responseUrl).pathname);
    expect(String(reply!.body.text)).toContain('click the button again');
    expect(h.slack.refused.calls.map((c) => [c.method, c.body.trigger_id === click.trigger_id])).toEqual([['views.open', true]]);
  });

  it('a click that cannot be written down is not acknowledged: Slack shows an error, nothing half-recorded; the next click counts', async () => {
    h = await startHarness();
    const id = (await h.receive()).body.id as number;
    // The card is recorded: the only write the lock below can stop is the click's.
    await expect.poll(async () => (await h.bot.store.getCheck(id))?.slackTs ?? null, { timeout: 10_000 }).not.toBeNull();

    // Another connection holds the database's write lock past the bot's busy timeout.
    const other = new Database(h.env.DATABASE_PATH!);
    other.exec('BEGIN IMMEDIATE');
    let refused: Response;
    try {
      refused = await h.click(APPROVER, 'approve_check', id);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(await h.bot.store.openRequests()).toEqual([]);
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });

    expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
  }, 30_000);
});
