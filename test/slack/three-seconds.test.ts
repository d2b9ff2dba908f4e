import { afterEach, describe, expect, it } from 'vitest';
import { sendInteraction, reasonSubmission } from '../../src/fakes/slack.js';
import { CHANNEL, OUTSIDER, SECRETS, startHarness, type Harness } from '../support/harness.js';
import { startWithPolicy, submitComment } from '../support/policy.js';

/** How long each slowed call takes: more than Slack's 3 seconds on its own. */
const SLOW_MS = 4000;
/** Slack's limit: it shows the person an error when the bot answers later than this. */
const SLACK_LIMIT_MS = 3000;
const MEMBER = 'U0RELEASER';
const GROUP = 'S0RELEASE';
/** Enough for a decision that waits for several slowed look-ups in a row. */
const EVENTUALLY_MS = 40_000;

/** Slack's user look-ups and GitLab's merge request and commits each take 4 s from now on. */
function slowDown(h: Harness): void {
  h.slack.slow('users.info', SLOW_MS);
  h.slack.slow('usergroups.users.list', SLOW_MS);
  h.gitlab.slow(/^\/api\/v4\/projects\/\d+\/merge_requests\/\d+(\/commits)?$/, SLOW_MS);
}

/** Sends a request as Slack does and measures how long the bot takes to answer it. */
async function timed(send: () => Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = Date.now();
  const res = await send();
  return { res, ms: Date.now() - started };
}

/** A check waiting for approval from user group S0RELEASE, its card posted. */
async function waitingCheck(h: Harness): Promise<number> {
  h.slack.setGroup(GROUP, [MEMBER]);
  const id = (await h.receive()).body.id as number;
  await h.slack.waitFor('chat.postMessage');
  return id;
}

const slowEnv = { APPROVERS: GROUP, REQUEST_TIMEOUT_MS: '20000' };

describe('Slack’s 3 seconds, with Slack and GitLab slow (4 s a call)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('Reject opens its modal with a trigger still valid, and the submission closes it in time; the rejection follows', async () => {
    h = await startHarness(slowEnv);
    const id = await waitingCheck(h);
    slowDown(h);

    const click = await timed(() => h.click(MEMBER, 'reject_check', id));
    expect(click.res.status).toBe(200);
    expect(click.ms).toBeLessThan(SLACK_LIMIT_MS);
    // The strict stand-in refuses an expired or reused trigger: an accepted views.open opened in time.
    const [modal] = await h.slack.waitFor('views.open');
    expect((modal!.body.view as { callback_id: string }).callback_id).toBe('reject_reason');
    expect(h.slack.refused.calls.filter((c) => c.method === 'views.open')).toEqual([]);

    const submit = await timed(() => h.submitReject(MEMBER, id, 'Breaks refunds'));
    expect(submit.res.status).toBe(200);
    expect(await submit.res.text()).toBe('');
    expect(submit.ms).toBeLessThan(SLACK_LIMIT_MS);
    // Written down before Slack was answered.
    expect((await h.bot.store.openRequests()).map((r) => r.checkId)).toContain(id);

    const [report] = await h.gitlab.waitForResponses(1, EVENTUALLY_MS);
    expect(report!.body).toMatchObject({ status: 'failed' });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', decidedBy: MEMBER, reason: 'Breaks refunds' });
  }, 60_000);

  it('Approve is answered in time and the approval is reported once the look-ups finish', async () => {
    h = await startHarness(slowEnv);
    const id = await waitingCheck(h);
    slowDown(h);

    const click = await timed(() => h.click(MEMBER, 'approve_check', id));
    expect(click.res.status).toBe(200);
    expect(click.ms).toBeLessThan(SLACK_LIMIT_MS);

    const [report] = await h.gitlab.waitForResponses(1, EVENTUALLY_MS);
    expect(report!.body).toMatchObject({ status: 'passed' });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: MEMBER });
  }, 60_000);

  it('/pending is answered at once; the list follows through the response_url', async () => {
    h = await startHarness(slowEnv);
    const id = await waitingCheck(h);
    slowDown(h);

    const responseUrl = h.slack.responseUrl();
    const command = await timed(() => h.slashCommand('/pending', MEMBER, { responseUrl }));
    expect(command.res.status).toBe(200);
    expect(command.ms).toBeLessThan(SLACK_LIMIT_MS);

    const [answer] = await h.slack.waitFor('response_url', 1, (c) => c.path === new URL(responseUrl).pathname, EVENTUALLY_MS);
    expect(answer!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(answer!.body.blocks)).toContain(`"value":"${id}"`);
  }, 60_000);

  it('someone not allowed: the modal still opens in time, then shows the refusal; a submission anyway is refused privately', async () => {
    h = await startHarness(slowEnv);
    const id = await waitingCheck(h);
    slowDown(h);

    const click = await timed(() => h.click(OUTSIDER, 'reject_check', id));
    expect(click.ms).toBeLessThan(SLACK_LIMIT_MS);
    await h.slack.waitFor('views.open');
    const [refused] = await h.slack.waitFor('views.update', 1, () => true, EVENTUALLY_MS);
    expect(JSON.stringify(refused!.body.view)).toContain('not one of the approvers');

    const submit = await timed(() => h.submitReject(OUTSIDER, id, 'no'));
    expect(submit.ms).toBeLessThan(SLACK_LIMIT_MS);
    expect(await submit.res.text()).toBe('');
    const [told] = await h.slack.waitFor('chat.postEphemeral', 1, () => true, EVENTUALLY_MS);
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: OUTSIDER });
    expect(String(told!.body.text)).toContain('not one of the approvers');
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(h.gitlab.responses).toEqual([]);
  }, 60_000);

  it('approve with comment: the modal opens in time, the submission closes it in time, passed and the note follow', async () => {
    h = await startWithPolicy(`rules:\n  - name: payments\n    projects: acme/**\n    approvers:\n      slack: [${GROUP}]\n    approve_with_comment: true\n`, slowEnv);
    const id = await waitingCheck(h);
    slowDown(h);

    const click = await timed(() => h.click(MEMBER, 'approve_check', id));
    expect(click.ms).toBeLessThan(SLACK_LIMIT_MS);
    const [modal] = await h.slack.waitFor('views.open');
    expect((modal!.body.view as { callback_id: string }).callback_id).toBe('approve_comment');

    const submit = await timed(() => submitComment(h, MEMBER, id, 'Checked with the gateway team'));
    expect(submit.ms).toBeLessThan(SLACK_LIMIT_MS);
    expect(await submit.res.text()).toBe('');

    const [report] = await h.gitlab.waitForResponses(1, EVENTUALLY_MS);
    expect(report!.body).toMatchObject({ status: 'passed' });
    await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path.endsWith('/notes'), 1, EVENTUALLY_MS);
  }, 60_000);

  it('a submission for a check that does not exist is closed in time and refused privately where the modal was opened', async () => {
    h = await startHarness(slowEnv);
    await waitingCheck(h);
    const payload = reasonSubmission({ callbackId: 'reject_reason', userId: MEMBER, checkId: 999, text: 'x' });
    (payload.view as { private_metadata: string }).private_metadata = JSON.stringify({ checkId: 999, channel: CHANNEL });
    const submit = await timed(() => sendInteraction(`${h.bot.url}/slack/events`, payload, SECRETS.signingSecret));
    expect(submit.ms).toBeLessThan(SLACK_LIMIT_MS);
    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: MEMBER, text: expect.stringContaining('There is no check 999') });
  }, 60_000);
});
