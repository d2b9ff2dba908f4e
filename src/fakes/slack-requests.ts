import crypto from 'node:crypto';

/**
 * Requests that drive the bot as Slack does: signed interactions, slash commands and events,
 * with payloads shaped like Slack's. Used by the tests (through test/support/requests.ts),
 * the demo and the benchmark.
 */

/** Signs a request the way Slack does: `v0=` + hex HMAC-SHA256 of `v0:<ts>:<body>`. */
export function slackHeaders(body: string, signingSecret: string, at = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = crypto.createHmac('sha256', signingSecret).update(`v0:${at}:${body}`).digest('hex');
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': `v0=${signature}`,
  };
}

/** Posts an interaction payload (`payload=<json>`) to the bot, signed. */
export async function sendInteraction(url: string, payload: unknown, signingSecret: string): Promise<Response> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return fetch(url, { method: 'POST', headers: slackHeaders(body, signingSecret), body });
}

/** Posts a slash command (form fields) to the bot, signed. */
export async function sendCommand(url: string, fields: Record<string, string>, signingSecret: string): Promise<Response> {
  const body = new URLSearchParams(fields).toString();
  return fetch(url, { method: 'POST', headers: slackHeaders(body, signingSecret), body });
}

/** The `user` of an interaction payload. */
function slackUser(id: string, name = id.toLowerCase()) {
  return { id, username: name, name, team_id: 'T0001' };
}

/** A `block_actions` payload for a button click, as Slack sends it. */
export function buttonClick(options: {
  userId: string;
  userName?: string;
  actionId: string;
  value: string;
  channel: string;
  messageTs?: string;
  responseUrl: string;
  ephemeral?: boolean;
  /** From `FakeSlack.triggerId()`; a made-up one opens no view, as with Slack. */
  triggerId?: string;
}): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'T0001', domain: 'example' },
    user: slackUser(options.userId, options.userName),
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    container: options.ephemeral
      ? { type: 'message', message_ts: options.messageTs ?? '1.1', channel_id: options.channel, is_ephemeral: true }
      : { type: 'message', message_ts: options.messageTs ?? '1.1', channel_id: options.channel, is_ephemeral: false },
    trigger_id: options.triggerId ?? '1111.2222.abcd',
    channel: { id: options.channel, name: 'approvals' },
    message: options.ephemeral ? undefined : { type: 'message', ts: options.messageTs ?? '1.1', text: 'card' },
    response_url: options.responseUrl,
    actions: [
      { type: 'button', action_id: options.actionId, block_id: `decide_${options.value}`, value: options.value, text: { type: 'plain_text', text: 'x' }, action_ts: '1.2' },
    ],
  };
}

/**
 * A `view_submission` payload for one of the bot's text modals, as Slack sends it when the
 * person presses the submit button: `reject_reason` (a rejection's reason) or
 * `approve_comment` (an approval's comment); the text is in block `reason`, input `reason_input`.
 */
export function reasonSubmission(options: { callbackId: string; userId: string; userName?: string; checkId: number; text: string | null }): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: 'T0001', domain: 'example' },
    user: slackUser(options.userId, options.userName),
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    trigger_id: '1111.2222.efgh',
    view: {
      id: 'V0001',
      team_id: 'T0001',
      type: 'modal',
      callback_id: options.callbackId,
      private_metadata: JSON.stringify({ checkId: options.checkId }),
      state: { values: { reason: { reason_input: { type: 'plain_text_input', value: options.text } } } },
      hash: '1.abc',
      app_id: 'A0001',
      bot_id: 'B0BOT',
    },
  };
}

/** A `view_submission` payload for the reject modal. */
export function rejectSubmission(options: { userId: string; userName?: string; checkId: number; reason: string | null }): Record<string, unknown> {
  const { reason, ...rest } = options;
  return reasonSubmission({ ...rest, callbackId: 'reject_reason', text: reason });
}

/** An `app_home_opened` event, as Slack sends it when a person opens the app's Home tab. */
export function appHomeOpened(userId: string, tab: 'home' | 'messages' = 'home'): Record<string, unknown> {
  return { type: 'app_home_opened', user: userId, channel: `D${userId.slice(1)}`, tab, event_ts: `${Math.floor(Date.now() / 1000)}.000100` };
}

/** The Events API envelope Slack posts for an event (`event_callback`). */
export function eventCallback(event: Record<string, unknown>): Record<string, unknown> {
  return {
    token: 'legacy-verification-token',
    team_id: 'T0001',
    api_app_id: 'A0001',
    event,
    type: 'event_callback',
    event_id: `Ev${crypto.randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0001', user_id: 'U0BOT', is_bot: true }],
  };
}

/** Posts an event to the bot as Slack's Events API does: signed JSON. */
export async function sendEvent(url: string, event: Record<string, unknown>, signingSecret: string): Promise<Response> {
  const body = JSON.stringify(eventCallback(event));
  return fetch(url, { method: 'POST', headers: { ...slackHeaders(body, signingSecret), 'content-type': 'application/json' }, body });
}

/** A click on a button of the app's Home tab (a view container, no `response_url`); `triggerId` from `FakeSlack.triggerId()` (a made-up one opens no view). */
export function homeButtonClick(options: { userId: string; actionId: string; value: string; triggerId?: string }): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'T0001', domain: 'example' },
    user: slackUser(options.userId),
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    container: { type: 'view', view_id: `V${options.userId}` },
    trigger_id: options.triggerId ?? '1111.3333.home',
    view: { id: `V${options.userId}`, type: 'home', team_id: 'T0001', app_id: 'A0001', bot_id: 'B0BOT', blocks: [], private_metadata: '', callback_id: '', hash: '1.home' },
    actions: [
      { type: 'button', action_id: options.actionId, block_id: `home_decide_${options.value}`, value: options.value, text: { type: 'plain_text', text: 'x' }, action_ts: '1.2' },
    ],
  };
}
