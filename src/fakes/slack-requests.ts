import crypto from 'node:crypto';
import appHomeOpenedRecording from './slack-payloads/app-home-opened.json' with { type: 'json' };
import blockActionsHomeRecording from './slack-payloads/block-actions-home.json' with { type: 'json' };
import blockActionsRecording from './slack-payloads/block-actions.json' with { type: 'json' };
import slashCommandRecording from './slack-payloads/slash-command.json' with { type: 'json' };
import socketModeEventsApiRecording from './slack-payloads/socket-mode-events-api.json' with { type: 'json' };
import socketModeInteractiveRecording from './slack-payloads/socket-mode-interactive.json' with { type: 'json' };
import socketModeSlashCommandsRecording from './slack-payloads/socket-mode-slash-commands.json' with { type: 'json' };
import urlVerificationRecording from './slack-payloads/url-verification.json' with { type: 'json' };
import viewSubmissionRecording from './slack-payloads/view-submission.json' with { type: 'json' };

/**
 * Requests that drive the bot as Slack does: signed interactions, slash commands and events.
 * Each payload starts from a recording in slack-payloads/, written field for field as Slack
 * sends it (Slack's documentation, bolt's and the Node SDK's types) with made-up ids, and
 * changes only what a caller varies (who, which check, which button, the trigger and
 * response URL). The recordings sit beside this file, not under test/, because the demo and
 * the benchmark drive the bot with them too, from dist/ as well. Used by the tests through
 * test/support/requests.ts.
 */

/** The recorded payloads, as Slack sends them; each builder copies one before changing it. */
export const SLACK_RECORDINGS = {
  'block-actions.json': blockActionsRecording,
  'block-actions-home.json': blockActionsHomeRecording,
  'view-submission.json': viewSubmissionRecording,
  'slash-command.json': slashCommandRecording,
  'app-home-opened.json': appHomeOpenedRecording,
  'url-verification.json': urlVerificationRecording,
  'socket-mode-interactive.json': socketModeInteractiveRecording,
  'socket-mode-slash-commands.json': socketModeSlashCommandsRecording,
  'socket-mode-events-api.json': socketModeEventsApiRecording,
} as const;

/** A copy to change: the imported recording is shared by every caller. */
const copy = <T>(recording: T): T => structuredClone(recording);

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

/** The `user` of an interaction payload, in the recorded workspace. */
function slackUser(id: string, name = id.toLowerCase()) {
  return { ...blockActionsRecording.user, id, username: name, name };
}

interface RecordedButton {
  action_id: string;
  text: { type: string; text: string; emoji?: boolean };
  style?: string;
}

/** The buttons of a recorded message or view, to tell a click's label and style by its action id. */
function buttonsOf(blocks: ReadonlyArray<{ elements?: ReadonlyArray<RecordedButton> }>): RecordedButton[] {
  return blocks.flatMap((b) => b.elements ?? []);
}

/**
 * The `actions` of a click on `actionId`, in the recorded action's shape: with that button's
 * label and style when the recording shows it, its action id otherwise.
 */
function clickedButton(recorded: ReadonlyArray<Record<string, unknown>>, buttons: RecordedButton[], actionId: string, blockId: string, value: string) {
  const { style: _recordedStyle, ...template } = recorded[0]!;
  const shown = buttons.find((b) => b.action_id === actionId);
  const looks = shown ? { text: shown.text, ...(shown.style ? { style: shown.style } : {}) } : { text: { type: 'plain_text', text: actionId, emoji: true } };
  return [{ ...template, ...looks, action_id: actionId, block_id: blockId, value }];
}

/** A `block_actions` payload for a button click on a message, as Slack sends it. */
export function buttonClick(options: {
  userId: string;
  userName?: string;
  actionId: string;
  value: string;
  channel: string;
  messageTs?: string;
  responseUrl: string;
  ephemeral?: boolean;
  /** From `FakeSlack.triggerId()`; a made-up one (the recording's) opens no view, as with Slack. */
  triggerId?: string;
}): Record<string, unknown> {
  const click = copy(blockActionsRecording);
  const ts = options.messageTs ?? click.container.message_ts;
  const payload = {
    ...click,
    user: slackUser(options.userId, options.userName),
    container: { ...click.container, message_ts: ts, channel_id: options.channel, is_ephemeral: Boolean(options.ephemeral) },
    trigger_id: options.triggerId ?? click.trigger_id,
    channel: { ...click.channel, id: options.channel },
    message: { ...click.message, ts },
    response_url: options.responseUrl,
    actions: clickedButton(click.actions, buttonsOf(click.message.blocks), options.actionId, `decide_${options.value}`, options.value),
  };
  // Slack keeps no copy of an ephemeral message, so a click on one carries none.
  if (options.ephemeral) return { ...payload, message: undefined };
  return payload;
}

/**
 * A `view_submission` payload for one of the bot's text modals, as Slack sends it when the
 * person presses the submit button: `reject_reason` (a rejection's reason),
 * `approve_comment` (an approval's comment) or `break_glass_reason`; the text is in block
 * `reason`, input `reason_input` (null when left empty).
 */
export function reasonSubmission(options: { callbackId: string; userId: string; userName?: string; checkId: number; text: string | null }): Record<string, unknown> {
  const submission = copy(viewSubmissionRecording);
  const [field] = Object.values(submission.view.state.values.reason);
  return {
    ...submission,
    user: slackUser(options.userId, options.userName),
    view: {
      ...submission.view,
      callback_id: options.callbackId,
      private_metadata: JSON.stringify({ checkId: options.checkId }),
      state: { values: { reason: { reason_input: { ...field, value: options.text } } } },
    },
  };
}

/** A `view_submission` payload for the reject modal. */
export function rejectSubmission(options: { userId: string; userName?: string; checkId: number; reason: string | null }): Record<string, unknown> {
  const { reason, ...rest } = options;
  return reasonSubmission({ ...rest, callbackId: 'reject_reason', text: reason });
}

/** A slash command's form fields, as Slack posts them (`/pending` unless told). */
export function slashCommand(options: {
  userId: string;
  userName?: string;
  channel: string;
  command?: string;
  text?: string;
  responseUrl: string;
  /** From `FakeSlack.triggerId()`; a made-up one (the recording's) opens no view, as with Slack. */
  triggerId?: string;
}): Record<string, string> {
  const fields = copy(slashCommandRecording);
  return {
    ...fields,
    user_id: options.userId,
    user_name: options.userName ?? options.userId.toLowerCase(),
    channel_id: options.channel,
    command: options.command ?? fields.command,
    text: options.text ?? '',
    response_url: options.responseUrl,
    trigger_id: options.triggerId ?? fields.trigger_id,
  };
}

/** An `app_home_opened` event, as Slack sends it when a person opens the app's Home tab. */
export function appHomeOpened(userId: string, tab: 'home' | 'messages' = 'home'): Record<string, unknown> {
  return { ...copy(appHomeOpenedRecording.event), user: userId, channel: `D${userId.slice(1)}`, tab, event_ts: `${Math.floor(Date.now() / 1000)}.000100` };
}

/** The Events API envelope Slack posts for an event (`event_callback`); each with an id of its own, as Slack's are. */
export function eventCallback(event: Record<string, unknown>): Record<string, unknown> {
  return {
    ...copy(appHomeOpenedRecording),
    event,
    event_id: `Ev${crypto.randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
  };
}

/** Slack's check of an Event Subscriptions request URL: the app must answer with `challenge`. */
export function urlVerification(challenge = urlVerificationRecording.challenge): Record<string, unknown> {
  return { ...copy(urlVerificationRecording), challenge };
}

/** Posts an event to the bot as Slack's Events API does: signed JSON. */
export async function sendEvent(url: string, event: Record<string, unknown>, signingSecret: string): Promise<Response> {
  const body = JSON.stringify(eventCallback(event));
  return fetch(url, { method: 'POST', headers: { ...slackHeaders(body, signingSecret), 'content-type': 'application/json' }, body });
}

/** A click on a button of the app's Home tab (a view container, no `response_url`); `triggerId` from `FakeSlack.triggerId()` (a made-up one opens no view). */
export function homeButtonClick(options: { userId: string; actionId: string; value: string; triggerId?: string }): Record<string, unknown> {
  const click = copy(blockActionsHomeRecording);
  const viewId = `V${options.userId}`;
  return {
    ...click,
    user: slackUser(options.userId),
    container: { ...click.container, view_id: viewId },
    trigger_id: options.triggerId ?? click.trigger_id,
    view: { ...click.view, id: viewId, root_view_id: viewId },
    actions: clickedButton(click.actions, buttonsOf(click.view.blocks), options.actionId, `home_decide_${options.value}`, options.value),
  };
}

export type SocketModeEnvelopeType = 'interactive' | 'slash_commands' | 'events_api';

const SOCKET_MODE_RECORDINGS = {
  interactive: socketModeInteractiveRecording,
  slash_commands: socketModeSlashCommandsRecording,
  events_api: socketModeEventsApiRecording,
};

/**
 * What Slack sends over a Socket Mode connection: the payload HTTP would carry, wrapped with
 * an envelope id of its own and the envelope's recorded fields (events may not be answered
 * with a payload, and carry their retry count).
 */
export function socketModeEnvelope(type: SocketModeEnvelopeType, payload: unknown) {
  const { payload: _recordedPayload, ...envelope } = copy(SOCKET_MODE_RECORDINGS[type]) as { payload: unknown; envelope_id: string; type: string; accepts_response_payload: boolean };
  return { ...envelope, type, envelope_id: crypto.randomUUID(), payload };
}
