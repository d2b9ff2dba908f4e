import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buttonClick } from '../../src/fakes/slack.js';
import { APPROVER, CHANNEL, startHarness, type Harness } from '../support/harness.js';
import { FakeSocketMode } from '../../src/fakes/socket-mode.js';

const APP_TOKEN = 'xapp-1-test';

type Block = { type: string; elements?: Array<{ action_id?: string; value?: string }> };
const allText = (call: { body: Record<string, unknown> }) => JSON.stringify(call.body.blocks);

/** `/pending` typed by the approver, as the `slash_commands` envelope's payload carries it. */
const pendingCommand = (responseUrl: string) => ({
  token: 'legacy-verification-token',
  team_id: 'T0001',
  team_domain: 'example',
  channel_id: CHANNEL,
  channel_name: 'approvals',
  user_id: APPROVER,
  user_name: APPROVER.toLowerCase(),
  command: '/pending',
  text: '',
  api_app_id: 'A0001',
  is_enterprise_install: 'false',
  response_url: responseUrl,
  trigger_id: '1.2.3',
});

describe('Socket Mode: Slack traffic over a WebSocket, no public URL for Slack', () => {
  let socket: FakeSocketMode;
  let h: Harness;
  beforeEach(async () => {
    socket = await FakeSocketMode.start();
    h = await startHarness(
      { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' },
      { beforeStart: ({ slack }) => slack.acceptSocketMode(APP_TOKEN, () => socket.linkUrl()) },
    );
  });
  afterEach(async () => {
    await h.stop();
    await socket.close();
  });

  it('connects at start with the app-level token and keeps the connection alive', async () => {
    const [open] = h.slack.calls('apps.connections.open');
    expect(open!.token).toBe(APP_TOKEN);
    expect(h.slack.calls('apps.connections.open')).toHaveLength(1);
    expect(socket.connections.calls).toHaveLength(1);
    expect(await socket.ping('are you there')).toBe('are you there');
  });

  it('an approval clicked in Slack arrives over the socket, is acknowledged there and reported to GitLab', async () => {
    const received = await h.receive();
    expect(received.status).toBe(202);
    const id = received.body.id as number;
    const [card] = await h.slack.waitFor('chat.postMessage');
    expect(card!.body.channel).toBe(CHANNEL);

    const click = buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(id), channel: CHANNEL, responseUrl: h.slack.responseUrl(), triggerId: h.slack.triggerId() });
    const { envelope, ack } = await socket.deliver('interactive', click);
    expect(ack).toEqual({ envelope_id: envelope.envelope_id, payload: {} });

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.path).toBe('/api/v4/projects/42/merge_requests/128/status_check_responses');
    expect(report!.body).toMatchObject({ external_status_check_id: 7, status: 'passed' });
    const [update] = await h.slack.waitFor('chat.update', 1, (c) => allText(c).includes('Reported to GitLab'));
    expect(allText(update!)).toContain(`Approved* by <@${APPROVER}>`);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: APPROVER, decidedVia: 'slack' });
  });

  it('/pending is acknowledged at once over the socket; the list follows through the response_url', async () => {
    const id = (await h.receive()).body.id as number;
    const responseUrl = h.slack.responseUrl();
    const { envelope, ack } = await socket.deliver('slash_commands', pendingCommand(responseUrl));

    expect(ack.envelope_id).toBe(envelope.envelope_id);
    expect(ack.payload ?? {}).toEqual({});
    const [answer] = await h.slack.waitFor('response_url', 1, (c) => c.path === new URL(responseUrl).pathname);
    expect(answer!.body).toMatchObject({ response_type: 'ephemeral' });
    const blocks = answer!.body.blocks as Block[];
    expect(JSON.stringify(blocks)).toContain('acme/payments-api!128');
    expect(blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? [])).toEqual([
      expect.objectContaining({ action_id: 'approve_check', value: String(id) }),
      expect.objectContaining({ action_id: 'reject_check', value: String(id) }),
    ]);
  });

  it('serves GitLab and people over HTTP but not Slack’s request URL', async () => {
    const events = await fetch(`${h.bot.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ command: '/pending', user_id: APPROVER }).toString(),
    });
    expect(events.status).toBe(404);
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
    expect((await h.receive()).status).toBe(202);
  });

  it('when Slack asks it to disconnect, the bot opens a new connection and goes on answering', async () => {
    socket.requestDisconnect('warning');
    const [closed] = await socket.closes.waitFor(() => true);
    expect(closed!.code).toBe(1000);
    // The client waits its reconnect delay (5 s by default) before asking for a new URL.
    await socket.connections.waitFor(() => true, 2, 15_000);
    const opens = h.slack.calls('apps.connections.open');
    expect(opens).toHaveLength(2);
    expect(opens.every((c) => c.token === APP_TOKEN)).toBe(true);

    await socket.deliver('slash_commands', pendingCommand(h.slack.responseUrl()));
    const [answer] = await h.slack.waitFor('response_url');
    expect(answer!.body).toMatchObject({ response_type: 'ephemeral' });
  }, 20_000);

  it('stopping the bot closes the connection with a normal closure', async () => {
    await h.bot.stop();
    const [closed] = await socket.closes.waitFor(() => true);
    expect(closed!.code).toBe(1000);
    expect(socket.openConnections).toBe(0);
  });
});
