import { afterEach, describe, expect, it } from 'vitest';
import { buttonClick, sendInteraction } from '../../src/fakes/slack.js';
import { APPROVER, CHANNEL, OUTSIDER, SECOND_APPROVER, SECRETS, startHarness, type Harness } from '../support/harness.js';
import { startWithPolicy } from '../support/policy.js';

/** Text that mrkdwn would turn into a ping of everyone and a link that is not what it says. */
const HOSTILE = '<!channel> <https://evil.example/login|Sign in again> & co';
const ESCAPED = '&lt;!channel&gt; &lt;https://evil.example/login|Sign in again&gt; &amp; co';

/** What the bot posted privately through this response_url. */
async function reply(h: Harness, responseUrl: string): Promise<string> {
  const path = new URL(responseUrl).pathname;
  const [answer] = await h.slack.waitFor('response_url', 1, (c) => c.path === path);
  return String(answer!.body.text);
}

/** A click whose clicker has this user name, as Slack would carry it. */
function clickAs(h: Harness, userId: string, userName: string, action: string, checkId: number, responseUrl: string): Promise<Response> {
  const payload = buttonClick({ userId, userName, actionId: action, value: String(checkId), channel: CHANNEL, responseUrl, triggerId: h.slack.triggerId() });
  return sendInteraction(`${h.bot.url}/slack/events`, payload, SECRETS.signingSecret);
}

describe('private replies show what people and policy files wrote as text, never as mrkdwn', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('“already approved by …” shows the first approver’s name escaped', async () => {
    h = await startHarness();
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await clickAs(h, APPROVER, HOSTILE, 'approve_check', id, h.slack.responseUrl());
    await h.gitlab.waitForResponses(1);

    const late = h.slack.responseUrl();
    await h.click(SECOND_APPROVER, 'approve_check', id, { responseUrl: late });
    const text = await reply(h, late);
    expect(text).toContain(`already approved by ${ESCAPED}`);
    expect(text).not.toContain('<!channel>');
  });

  it('a refusal naming its rule escapes the rule’s name, on a click and after a modal', async () => {
    h = await startWithPolicy(`rules:\n  - name: "${HOSTILE}"\n    projects: acme/**\n    approvers:\n      slack: [${APPROVER}]\n`);
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');

    const url = h.slack.responseUrl();
    await h.click(OUTSIDER, 'approve_check', id, { responseUrl: url });
    const text = await reply(h, url);
    expect(text).toContain(`rule “${ESCAPED}”`);
    expect(text).not.toContain('<https://evil.example');

    // Submitted anyway (the form was open before the refusal came): the refusal arrives privately.
    await h.submitReject(OUTSIDER, id, 'no');
    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(told!.body).toMatchObject({ channel: CHANNEL, user: OUTSIDER });
    expect(String(told!.body.text)).toContain(`rule “${ESCAPED}”`);
    expect(String(told!.body.text)).not.toContain('<!channel>');
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
  });
});
