import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SLACK_RECORDINGS, socketModeEnvelope } from '../../src/fakes/slack-requests.js';
import { APPROVE_ACTION, EMERGENCY_APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/card.js';
import { BREAK_GLASS_VIEW } from '../../src/slack/listeners/views/break-glass-modal.js';
import { REASON_BLOCK, REASON_INPUT, REASON_VIEWS, readMetadata } from '../../src/slack/listeners/views/reason-modal.js';
import { appHomeOpened, buttonClick, eventCallback, homeButtonClick, reasonSubmission, slashCommand, urlVerification } from '../support/requests.js';

/*
 * The recorded Slack payloads the tests, the demo and the benchmark send. Each is held to
 * what Slack sends (Slack's docs, bolt-js's BlockAction, ViewSubmitAction, SlashCommand and
 * EnvelopedEvent types) and to what bolt routes by (App#getTypeAndConversation and the
 * listener constraints): `type` and `actions[].action_id` for block_actions,
 * `view.callback_id` for view_submission, `command` for commands, `event.type` for events.
 * A recording that drifts from either fails here, by name and field.
 */

const folder = new URL('../../src/fakes/slack-payloads/', import.meta.url);
const text = z.string().min(1);
/** A field Slack leaves out of this payload. */
const absent = z.never().optional();
const buttonActions = [APPROVE_ACTION, REJECT_ACTION, EMERGENCY_APPROVE_ACTION] as const;
const modalCallbacks = [...Object.values(REASON_VIEWS), BREAK_GLASS_VIEW];

/** Who clicked or submitted, and where: every interaction carries these. */
const interaction = {
  team: z.object({ id: text, domain: text }),
  user: z.object({ id: text, username: text, name: text, team_id: text }),
  api_app_id: text,
  token: text,
  trigger_id: text,
  enterprise: z.null(),
  is_enterprise_install: z.literal(false),
  // bolt takes any body with a top-level `name` for an options request, and one with `event` or `command` for those.
  name: absent,
  event: absent,
  command: absent,
};

const action = z.object({
  type: z.literal('button'),
  action_id: z.enum(buttonActions),
  block_id: text,
  action_ts: text,
  value: text,
  text: z.object({ type: z.literal('plain_text'), text: text }),
});

const viewOutput = {
  id: text,
  team_id: text,
  app_id: text,
  bot_id: text,
  app_installed_team_id: text,
  blocks: z.array(z.object({ type: text })),
  private_metadata: z.string(),
  callback_id: z.string(),
  state: z.object({ values: z.record(z.string(), z.record(z.string(), z.object({ type: text }))) }),
  hash: text,
  title: z.object({ type: z.literal('plain_text'), text: text }),
  clear_on_close: z.boolean(),
  notify_on_close: z.boolean(),
  previous_view_id: z.string().nullable(),
  root_view_id: z.string().nullable(),
  external_id: z.string(),
};

const blockActions = z.object({
  ...interaction,
  type: z.literal('block_actions'),
  container: z.object({ type: z.literal('message'), message_ts: text, channel_id: text, is_ephemeral: z.boolean() }),
  channel: z.object({ id: text, name: text }),
  message: z.object({ type: z.literal('message'), ts: text, text: z.string(), bot_id: text, blocks: z.array(z.object({ type: text })) }).optional(),
  state: z.object({ values: z.record(z.string(), z.unknown()) }),
  response_url: z.url(),
  actions: z.array(action.extend({ block_id: z.string().regex(/^decide_\d+$/) })).length(1),
});

const homeBlockActions = z.object({
  ...interaction,
  type: z.literal('block_actions'),
  container: z.object({ type: z.literal('view'), view_id: text }),
  view: z.object({ ...viewOutput, type: z.literal('home') }),
  // A click on the Home tab has no message to answer in.
  response_url: absent,
  channel: absent,
  message: absent,
  actions: z.array(action.extend({ block_id: z.string().regex(/^home_decide_\d+$/) })).length(1),
});

const viewSubmission = z.object({
  ...interaction,
  type: z.literal('view_submission'),
  // bolt routes any body with `actions` as an action, before it looks at view_submission.
  actions: absent,
  view: z.object({
    ...viewOutput,
    type: z.literal('modal'),
    callback_id: z.enum(modalCallbacks),
    submit: z.object({ type: z.literal('plain_text'), text: text }),
    close: z.object({ type: z.literal('plain_text'), text: text }),
    state: z.object({
      values: z.object({ [REASON_BLOCK]: z.object({ [REASON_INPUT]: z.object({ type: z.literal('plain_text_input'), value: z.string().nullable() }) }) }),
    }),
  }),
  response_urls: z.array(z.unknown()),
});

/** A slash command is form fields: strings only, `is_enterprise_install` too. */
const slashCommandFields = z
  .object({
    token: text,
    command: z.literal('/pending'),
    text: z.string(),
    response_url: z.url(),
    trigger_id: text,
    user_id: text,
    user_name: text,
    team_id: text,
    team_domain: text,
    channel_id: text,
    channel_name: text,
    api_app_id: text,
    is_enterprise_install: z.enum(['true', 'false']),
  })
  .catchall(z.string());

const appHomeOpenedEvent = z.object({
  type: z.literal('app_home_opened'),
  user: text,
  channel: z.string().regex(/^D/),
  tab: z.enum(['home', 'messages']),
  event_ts: text,
});

const eventEnvelope = z.object({
  type: z.literal('event_callback'),
  token: text,
  team_id: text,
  api_app_id: text,
  event: appHomeOpenedEvent,
  event_id: z.string().regex(/^Ev/),
  event_time: z.number().int().positive(),
  authorizations: z.array(z.object({ enterprise_id: z.null(), team_id: text, user_id: text, is_bot: z.boolean(), is_enterprise_install: z.literal(false) })).min(1),
  is_ext_shared_channel: z.boolean(),
  event_context: text,
});

const urlVerificationBody = z.object({ type: z.literal('url_verification'), token: text, challenge: text });

const envelope = (type: string, acceptsPayload: boolean, payload: z.ZodType) =>
  z.object({ envelope_id: text, type: z.literal(type), accepts_response_payload: z.literal(acceptsPayload), payload });

/** Every recording, and what it must carry. */
const SHAPES: Record<keyof typeof SLACK_RECORDINGS, z.ZodType> = {
  'block-actions.json': blockActions,
  'block-actions-home.json': homeBlockActions,
  'view-submission.json': viewSubmission,
  'slash-command.json': slashCommandFields,
  'app-home-opened.json': eventEnvelope,
  'url-verification.json': urlVerificationBody,
  'socket-mode-interactive.json': envelope('interactive', true, blockActions),
  'socket-mode-slash-commands.json': envelope('slash_commands', true, slashCommandFields),
  // Events are acknowledged, never answered; Slack says how many times it tried before.
  'socket-mode-events-api.json': envelope('events_api', false, eventEnvelope).extend({ retry_attempt: z.number().int().min(0), retry_reason: z.string() }),
};

/** The recording's problems, one line per field, or none. */
function problems(shape: z.ZodType, payload: unknown): string[] {
  const result = shape.safeParse(payload);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
}

describe('the recorded Slack payloads', () => {
  const files = fs.readdirSync(folder).filter((f) => f.endsWith('.json'));

  it('each file is listed with its shape, and each listed one is there', () => {
    expect(files.sort()).toEqual(Object.keys(SHAPES).sort());
    expect(Object.keys(SLACK_RECORDINGS).sort()).toEqual(Object.keys(SHAPES).sort());
  });

  it.each(Object.keys(SHAPES) as Array<keyof typeof SHAPES>)('%s parses and carries what Slack sends and bolt routes by', (file) => {
    const parsed: unknown = JSON.parse(fs.readFileSync(new URL(file, folder), 'utf8'));
    expect(problems(SHAPES[file], parsed)).toEqual([]);
    // What the builders start from is what the file says.
    expect(SLACK_RECORDINGS[file]).toEqual(parsed);
  });

  it('made-up ids only: no real workspace, person or token', () => {
    const all = files.map((f) => fs.readFileSync(new URL(f, folder), 'utf8')).join('\n');
    expect(all).not.toMatch(/xox[abpr]-|xapp-/);
    // Slack's ids, as a recording holds them: the bot's, or zeros and placeholders.
    for (const [, id] of all.matchAll(/"([TUCDVBAE][A-Z0-9]{3,})"/g)) expect(id, id).toMatch(/^[TUCDVBA](0+1?|0BOT)$/);
  });

  it('the modal’s private_metadata names a check the bot can read back', () => {
    expect(readMetadata(SLACK_RECORDINGS['view-submission.json'].view.private_metadata).checkId).toEqual(expect.any(Number));
  });

  it('over Socket Mode, each envelope carries the very payload Slack posts over HTTP', () => {
    expect(SLACK_RECORDINGS['socket-mode-interactive.json'].payload).toEqual(SLACK_RECORDINGS['block-actions.json']);
    expect(SLACK_RECORDINGS['socket-mode-slash-commands.json'].payload).toEqual(SLACK_RECORDINGS['slash-command.json']);
    expect(SLACK_RECORDINGS['socket-mode-events-api.json'].payload).toEqual(SLACK_RECORDINGS['app-home-opened.json']);
  });
});

describe('the payloads built from the recordings keep their shape', () => {
  const responseUrl = 'http://127.0.0.1:9/response/r1';

  it('a click on a card, on an ephemeral message and on the Home tab', () => {
    const click = buttonClick({ userId: 'U0APPROVER', actionId: REJECT_ACTION, value: '42', channel: 'C0APPROVALS', responseUrl, triggerId: '5.6.7' });
    expect(problems(blockActions, click)).toEqual([]);
    expect(click).toMatchObject({
      user: { id: 'U0APPROVER', username: 'u0approver' },
      channel: { id: 'C0APPROVALS' },
      container: { channel_id: 'C0APPROVALS', is_ephemeral: false },
      trigger_id: '5.6.7',
      response_url: responseUrl,
      actions: [{ action_id: REJECT_ACTION, block_id: 'decide_42', value: '42', text: { text: 'Reject' }, style: 'danger' }],
    });
    const onEphemeral = buttonClick({ userId: 'U0APPROVER', actionId: APPROVE_ACTION, value: '42', channel: 'C0APPROVALS', responseUrl, ephemeral: true });
    expect(problems(blockActions, onEphemeral)).toEqual([]);
    expect(onEphemeral).toMatchObject({ container: { is_ephemeral: true }, message: undefined });

    const home = homeButtonClick({ userId: 'U0APPROVER', actionId: APPROVE_ACTION, value: '42' });
    expect(problems(homeBlockActions, home)).toEqual([]);
    expect(home).toMatchObject({ container: { view_id: 'VU0APPROVER' }, view: { id: 'VU0APPROVER' }, actions: [{ block_id: 'home_decide_42' }] });
  });

  it('a modal submitted with a reason, and with the field left empty', () => {
    for (const callbackId of modalCallbacks) {
      const submitted = reasonSubmission({ callbackId, userId: 'U0APPROVER', checkId: 42, text: 'not <b>now</b>' });
      expect(problems(viewSubmission, submitted)).toEqual([]);
      expect(submitted).toMatchObject({ view: { callback_id: callbackId, private_metadata: '{"checkId":42}', state: { values: { reason: { reason_input: { value: 'not <b>now</b>' } } } } } });
    }
    expect(reasonSubmission({ callbackId: 'reject_reason', userId: 'U0APPROVER', checkId: 42, text: null })).toMatchObject({
      view: { state: { values: { reason: { reason_input: { value: null } } } } },
    });
  });

  it('a slash command, an event, Slack’s URL check and the Socket Mode envelopes', () => {
    const command = slashCommand({ userId: 'U0APPROVER', channel: 'C0APPROVALS', responseUrl, triggerId: '5.6.7' });
    expect(problems(slashCommandFields, command)).toEqual([]);
    expect(command).toMatchObject({ user_id: 'U0APPROVER', user_name: 'u0approver', channel_id: 'C0APPROVALS', response_url: responseUrl, trigger_id: '5.6.7' });

    const event = eventCallback(appHomeOpened('U0APPROVER'));
    expect(problems(eventEnvelope, event)).toEqual([]);
    expect(event).toMatchObject({ event: { user: 'U0APPROVER', channel: 'D0APPROVER', tab: 'home' } });
    expect((eventCallback(appHomeOpened('U0APPROVER')) as { event_id: string }).event_id).not.toBe((event as { event_id: string }).event_id);

    expect(urlVerification('abc')).toEqual({ ...SLACK_RECORDINGS['url-verification.json'], challenge: 'abc' });

    const events = socketModeEnvelope('events_api', event);
    expect(problems(SHAPES['socket-mode-events-api.json'], events)).toEqual([]);
    expect(events.envelope_id).not.toBe(SLACK_RECORDINGS['socket-mode-events-api.json'].envelope_id);
    expect(problems(SHAPES['socket-mode-slash-commands.json'], socketModeEnvelope('slash_commands', command))).toEqual([]);
  });
});
