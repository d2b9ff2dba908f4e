import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlack, RESPONSE_URL_TTL_MS, TRIGGER_TTL_MS } from '../../src/fakes/slack.js';
import { ackProblems, lateAck } from '../../src/fakes/socket-mode.js';

const TOKEN = 'xoxb-strict';
const CHANNEL = 'C0STRICT';

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (over: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' }, value: '1', ...over });
const actions = (elements: unknown[]) => ({ type: 'actions', block_id: 'b', elements });
const modal = (over: Record<string, unknown> = {}) => ({
  type: 'modal',
  callback_id: 'cb',
  title: { type: 'plain_text', text: 'Title' },
  submit: { type: 'plain_text', text: 'Send' },
  close: { type: 'plain_text', text: 'Cancel' },
  blocks: [section('hello')],
  ...over,
});
const x = (n: number, c = 'x') => c.repeat(n);

/** Each message Block Kit limit: a breach, and the most the limit allows. */
const MESSAGE_RULES: Array<{ rule: string; breach: unknown[]; within: unknown[] }> = [
  { rule: '50 blocks per message', breach: Array.from({ length: 51 }, () => section('a')), within: Array.from({ length: 50 }, () => section('a')) },
  { rule: 'section text at most 3000 characters', breach: [section(x(3001))], within: [section(x(3000))] },
  { rule: 'section text counts escapes as sent', breach: [section(x(601, '&amp;'))], within: [section(x(600, '&amp;'))] },
  { rule: 'section text at least 1 character', breach: [section('')], within: [section('a')] },
  {
    rule: 'at most 10 fields',
    breach: [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
    within: [{ type: 'section', fields: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
  },
  { rule: 'a field at most 2000 characters', breach: [{ type: 'section', fields: [{ type: 'mrkdwn', text: x(2001) }] }], within: [{ type: 'section', fields: [{ type: 'mrkdwn', text: x(2000) }] }] },
  { rule: 'header at most 150 characters', breach: [{ type: 'header', text: { type: 'plain_text', text: x(151) } }], within: [{ type: 'header', text: { type: 'plain_text', text: x(150) } }] },
  { rule: 'header at least 1 character', breach: [{ type: 'header', text: { type: 'plain_text', text: '' } }], within: [{ type: 'header', text: { type: 'plain_text', text: 'h' } }] },
  {
    rule: 'context at most 10 elements',
    breach: [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
    within: [{ type: 'context', elements: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
  },
  { rule: 'context at least 1 element', breach: [{ type: 'context', elements: [] }], within: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'c' }] }] },
  {
    rule: 'actions at most 25 elements',
    breach: [actions(Array.from({ length: 26 }, (_, i) => button({ action_id: `a${i}` })))],
    within: [actions(Array.from({ length: 25 }, (_, i) => button({ action_id: `a${i}` })))],
  },
  { rule: 'actions at least 1 element', breach: [actions([])], within: [actions([button()])] },
  { rule: 'button text at most 75 characters', breach: [actions([button({ text: { type: 'plain_text', text: x(76) } })])], within: [actions([button({ text: { type: 'plain_text', text: x(75) } })])] },
  { rule: 'button text at least 1 character', breach: [actions([button({ text: { type: 'plain_text', text: '' } })])], within: [actions([button()])] },
  { rule: 'button value at most 2000 characters', breach: [actions([button({ value: x(2001) })])], within: [actions([button({ value: x(2000) })])] },
  { rule: 'button url at most 3000 characters', breach: [actions([button({ url: `https://e.com/${x(2987)}` })])], within: [actions([button({ url: `https://e.com/${x(2986)}` })])] },
  { rule: 'action_id at most 255 characters', breach: [actions([button({ action_id: x(256) })])], within: [actions([button({ action_id: x(255) })])] },
  { rule: 'action_id unique within its block', breach: [actions([button(), button()])], within: [actions([button(), button({ action_id: 'other' })])] },
  { rule: 'block_id at most 255 characters', breach: [{ ...section('a'), block_id: x(256) }], within: [{ ...section('a'), block_id: x(255) }] },
  { rule: 'known block types only', breach: [{ type: 'marquee', text: 'a' }], within: [{ type: 'divider' }] },
];

describe('the Slack stand-in refuses what Slack refuses', () => {
  let slack: FakeSlack;
  beforeEach(async () => {
    slack = await FakeSlack.start(TOKEN, [CHANNEL]);
  });
  afterEach(async () => {
    await slack.close();
  });

  const api = async (method: string, body: Record<string, unknown>) => {
    const res = await fetch(`${slack.apiUrl}${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { ok: boolean; error?: string; ts?: string; view?: { id: string }; errors?: string[]; response_metadata?: { messages: string[] } } };
  };
  const respond = async (url: string, body: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  const post = async () => (await api('chat.postMessage', { channel: CHANNEL, text: 't', blocks: [section('a')] })).body.ts as string;

  describe.each(MESSAGE_RULES)('Block Kit: $rule', ({ breach, within }) => {
    it('chat.postMessage: invalid_blocks with HTTP 200, nothing posted; the limit itself passes', async () => {
      const refused = await api('chat.postMessage', { channel: CHANNEL, text: 't', blocks: breach });
      expect(refused).toMatchObject({ status: 200, body: { ok: false, error: 'invalid_blocks' } });
      expect(refused.body.response_metadata?.messages[0]).toMatch(/^\[ERROR\] .*json-pointer:\/blocks/);
      // Slack lists the problems twice: bare in `errors`, prefixed in the response metadata.
      expect(refused.body.errors?.map((e) => `[ERROR] ${e}`)).toEqual(refused.body.response_metadata?.messages);
      expect(slack.calls('chat.postMessage')).toHaveLength(0);
      expect((await api('chat.postMessage', { channel: CHANNEL, text: 't', blocks: within })).body).toMatchObject({ ok: true });
    });

    it('chat.update, chat.postEphemeral and response_url refuse it too', async () => {
      const ts = await post();
      expect((await api('chat.update', { channel: CHANNEL, ts, text: 't', blocks: breach })).body).toEqual(expect.objectContaining({ ok: false, error: 'invalid_blocks' }));
      expect((await api('chat.postEphemeral', { channel: CHANNEL, user: 'U1', text: 't', blocks: breach })).body).toMatchObject({ ok: false, error: 'invalid_blocks' });
      // A response_url answers like an incoming webhook: HTTP 400, the bare code.
      expect(await respond(slack.responseUrl(), { text: 't', blocks: breach })).toEqual({ status: 400, text: 'invalid_blocks' });
      expect(slack.calls('chat.update')).toHaveLength(0);
      expect(slack.calls('chat.postEphemeral')).toHaveLength(0);
      expect(slack.calls('response_url')).toHaveLength(0);
    });
  });

  describe('a message too long as a whole, each block within its limits', () => {
    // 5 sections of 2,400 characters: about 12,300 characters of blocks; 4 are about 9,800.
    const long = (n: number) => Array.from({ length: n }, () => section(x(2400)));

    it('is refused as msg_blocks_too_long by chat.postMessage, chat.update, chat.postEphemeral and response_url', async () => {
      const ts = await post();
      expect(await api('chat.postMessage', { channel: CHANNEL, text: 't', blocks: long(5) })).toMatchObject({ status: 200, body: { ok: false, error: 'msg_blocks_too_long' } });
      expect((await api('chat.update', { channel: CHANNEL, ts, text: 't', blocks: long(5) })).body.error).toBe('msg_blocks_too_long');
      expect((await api('chat.postEphemeral', { channel: CHANNEL, user: 'U1', text: 't', blocks: long(5) })).body.error).toBe('msg_blocks_too_long');
      expect(await respond(slack.responseUrl(), { text: 't', blocks: long(5) })).toEqual({ status: 400, text: 'msg_blocks_too_long' });
      expect(slack.calls('chat.update')).toHaveLength(0);
    });

    it('a little shorter is posted', async () => {
      expect((await api('chat.postMessage', { channel: CHANNEL, text: 't', blocks: long(4) })).body.ok).toBe(true);
    });
  });

  describe('modals and Home tabs', () => {
    const VIEW_RULES: Array<{ rule: string; breach: Record<string, unknown> }> = [
      { rule: '100 blocks', breach: modal({ blocks: Array.from({ length: 101 }, () => section('a')) }) },
      { rule: 'title at most 24 characters', breach: modal({ title: { type: 'plain_text', text: x(25) } }) },
      { rule: 'title at least 1 character', breach: modal({ title: { type: 'plain_text', text: '' } }) },
      { rule: 'a modal needs a title', breach: modal({ title: undefined }) },
      { rule: 'submit at most 24 characters', breach: modal({ submit: { type: 'plain_text', text: x(25) } }) },
      { rule: 'close at most 24 characters', breach: modal({ close: { type: 'plain_text', text: x(25) } }) },
      { rule: 'private_metadata at most 3000 characters', breach: modal({ private_metadata: x(3001) }) },
      {
        rule: 'input placeholder at most 150 characters',
        breach: modal({
          blocks: [
            { type: 'input', block_id: 'i', label: { type: 'plain_text', text: 'L' }, element: { type: 'plain_text_input', action_id: 'v', placeholder: { type: 'plain_text', text: x(151) } } },
          ],
        }),
      },
      { rule: 'section text at most 3000 characters', breach: modal({ blocks: [section(x(3001))] }) },
    ];

    it.each(VIEW_RULES)('views.open refuses a modal breaking “$rule” (invalid_arguments), and the trigger is not spent', async ({ breach }) => {
      const trigger = slack.triggerId();
      const refused = await api('views.open', { trigger_id: trigger, view: breach });
      // A view is an argument of views.*: Slack answers invalid_arguments, not invalid_blocks.
      expect(refused).toMatchObject({ status: 200, body: { ok: false, error: 'invalid_arguments' } });
      expect(refused.body.response_metadata?.messages[0]).toMatch(/^\[ERROR\] .*json-pointer:\/view/);
      expect(slack.calls('views.open')).toHaveLength(0);
      expect((await api('views.open', { trigger_id: trigger, view: modal() })).body).toMatchObject({ ok: true });
    });

    it('a modal submitted or closed can no longer be updated (not_found)', async () => {
      const opened = await api('views.open', { trigger_id: slack.triggerId(), view: modal() });
      slack.closeViews();
      expect((await api('views.update', { view_id: opened.body.view!.id, view: modal() })).body).toMatchObject({ ok: false, error: 'not_found' });
    });

    it('a modal of 100 blocks and 24-character titles opens', async () => {
      const view = modal({ blocks: Array.from({ length: 100 }, () => section('a')), title: { type: 'plain_text', text: x(24) }, private_metadata: x(3000) });
      expect((await api('views.open', { trigger_id: slack.triggerId(), view })).body).toMatchObject({ ok: true });
    });

    it('views.push, views.update and views.publish check the view too', async () => {
      const opened = await api('views.open', { trigger_id: slack.triggerId(), view: modal() });
      const tooLong = modal({ title: { type: 'plain_text', text: x(25) } });
      expect((await api('views.push', { trigger_id: slack.triggerId(), view: tooLong })).body.error).toBe('invalid_arguments');
      expect((await api('views.update', { view_id: opened.body.view!.id, view: tooLong })).body.error).toBe('invalid_arguments');
      expect((await api('views.update', { view_id: opened.body.view!.id, view: modal() })).body.ok).toBe(true);
      expect((await api('views.update', { view_id: 'V_UNKNOWN', view: modal() })).body.error).toBe('not_found');
      const home = { type: 'home', blocks: Array.from({ length: 101 }, () => section('a')) };
      expect((await api('views.publish', { user_id: 'U1', view: home })).body.error).toBe('invalid_arguments');
      expect((await api('views.publish', { user_id: 'U1', view: { ...home, blocks: home.blocks.slice(1) } })).body.ok).toBe(true);
    });
  });

  describe('trigger ids', () => {
    it('a trigger the stand-in never sent opens nothing: invalid_trigger_id', async () => {
      expect((await api('views.open', { trigger_id: '1111.2222.abcd', view: modal() })).body).toMatchObject({ ok: false, error: 'invalid_trigger_id' });
    });

    it('a trigger opens one view: the second try is exchanged_trigger_id', async () => {
      const trigger = slack.triggerId();
      expect((await api('views.open', { trigger_id: trigger, view: modal() })).body.ok).toBe(true);
      expect((await api('views.open', { trigger_id: trigger, view: modal() })).body).toMatchObject({ ok: false, error: 'exchanged_trigger_id' });
      expect(slack.calls('views.open')).toHaveLength(1);
    });

    it('a trigger is good for 3 seconds after the interaction was sent: then expired_trigger_id', async () => {
      let now = 1_000_000;
      slack.now = () => now;
      const late = slack.triggerId();
      const inTime = slack.triggerId();
      now += TRIGGER_TTL_MS;
      expect((await api('views.open', { trigger_id: inTime, view: modal() })).body.ok).toBe(true);
      now += 1;
      expect((await api('views.open', { trigger_id: late, view: modal() })).body).toMatchObject({ ok: false, error: 'expired_trigger_id' });
    });
  });

  describe('messages', () => {
    it('chat.update of a message Slack does not hold is message_not_found', async () => {
      const ts = await post();
      expect((await api('chat.update', { channel: CHANNEL, ts: '1234.5678', text: 't', blocks: [section('b')] })).body).toMatchObject({ ok: false, error: 'message_not_found' });
      expect((await api('chat.update', { channel: CHANNEL, ts, text: 't', blocks: [section('b')] })).body).toMatchObject({ ok: true, ts });
    });

    it('chat.postEphemeral needs a channel Slack knows and a user', async () => {
      expect((await api('chat.postEphemeral', { channel: 'C0NOWHERE', user: 'U1', text: 't' })).body.error).toBe('channel_not_found');
      expect((await api('chat.postEphemeral', { channel: CHANNEL, user: 'U1', text: 't' })).body.ok).toBe(true);
    });
  });

  describe('chat.postMessage at Slack’s pace, per channel', () => {
    const OTHER = 'C0OTHER';
    let t = 1_700_000_000_000;
    const postTo = async (channel: string) => {
      const res = await fetch(`${slack.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ channel, text: 't', blocks: [section('a')] }),
      });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { ok: boolean; error?: string } };
    };
    beforeEach(async () => {
      await slack.close();
      slack = await FakeSlack.start(TOKEN, [CHANNEL, OTHER]);
      slack.now = () => t;
    });

    it('takes a short burst, then refuses with HTTP 429, Retry-After and ratelimited until a second has passed', async () => {
      for (let i = 0; i < 3; i++) expect((await postTo(CHANNEL)).body.ok).toBe(true);
      expect(await postTo(CHANNEL)).toEqual({ status: 429, retryAfter: '1', body: { ok: false, error: 'ratelimited' } });
      expect(slack.calls('chat.postMessage')).toHaveLength(3);
      expect(slack.rateLimited()).toHaveLength(1);
      // Another channel has a pace of its own; updates are not held to it.
      expect((await postTo(OTHER)).body.ok).toBe(true);
      const [first] = slack.calls('chat.postMessage');
      expect((await api('chat.update', { channel: CHANNEL, ts: slack.answerTo(first!).ts, text: 't', blocks: [section('b')] })).body.ok).toBe(true);
      t += 999;
      expect((await postTo(CHANNEL)).status).toBe(429);
      t += 1;
      expect((await postTo(CHANNEL)).body.ok).toBe(true);
      expect((await postTo(CHANNEL)).status).toBe(429);
    });

    it('keeps a pace a test sets: 20 a second without a burst refuses the second message of the same instant', async () => {
      slack.postLimit = { perSecond: 20, burst: 1 };
      expect((await postTo(CHANNEL)).body.ok).toBe(true);
      expect(await postTo(CHANNEL)).toEqual({ status: 429, retryAfter: '1', body: { ok: false, error: 'ratelimited' } });
      t += 50;
      expect((await postTo(CHANNEL)).body.ok).toBe(true);
    });
  });

  describe('response_url', () => {
    it('takes 5 posts; the sixth is HTTP 404 used_url', async () => {
      const url = slack.responseUrl();
      for (let i = 0; i < 5; i++) expect((await respond(url, { text: `answer ${i}` })).status).toBe(200);
      expect(await respond(url, { text: 'one too many' })).toEqual({ status: 404, text: 'used_url' });
      expect(slack.calls('response_url')).toHaveLength(5);
    });

    it('lives 30 minutes: then HTTP 404 expired_url', async () => {
      let now = 5_000_000;
      slack.now = () => now;
      const url = slack.responseUrl();
      now += RESPONSE_URL_TTL_MS + 1;
      expect(await respond(url, { text: 'late' })).toEqual({ status: 404, text: 'expired_url' });
    });

    it('one Slack never issued is HTTP 404', async () => {
      expect((await respond(`${slack.url}/response/made-up`, { text: 'hello' })).status).toBe(404);
      expect(slack.calls('response_url')).toHaveLength(0);
    });
  });

  describe('slowness on demand', () => {
    it('slow(method, ms) delays that method’s answers, and only that method’s', async () => {
      slack.slow('users.info', 1500);
      let started = Date.now();
      expect((await api('users.info', { user: 'U1' })).body.ok).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      started = Date.now();
      await api('auth.test', {});
      expect(Date.now() - started).toBeLessThan(1500);
      slack.slow('users.info', 0);
      started = Date.now();
      await api('users.info', { user: 'U1' });
      expect(Date.now() - started).toBeLessThan(1500);
    });
  });
});

describe('the Socket Mode stand-in refuses acknowledgements Slack would refuse', () => {
  const ack = (payload?: Record<string, unknown>) => ({ envelope_id: 'e1', ...(payload ? { payload } : {}) });

  it.each(MESSAGE_RULES)('a message answer breaking “$rule”', ({ breach, within }) => {
    expect(ackProblems(ack({ response_type: 'ephemeral', text: 't', blocks: breach }))).not.toEqual([]);
    expect(ackProblems(ack({ response_type: 'ephemeral', text: 't', blocks: within }))).toEqual([]);
  });

  it('a modal answer (response_action update) with a title over 24 characters', () => {
    expect(ackProblems(ack({ response_action: 'update', view: modal({ title: { type: 'plain_text', text: x(25) } }) }))).not.toEqual([]);
    expect(ackProblems(ack({ response_action: 'update', view: modal() }))).toEqual([]);
  });

  it('an acknowledgement later than 3 seconds: Slack showed the person an error already', () => {
    expect(lateAck(3000)).toBeNull();
    expect(lateAck(3001)).toMatch(/after 3001 ms, more than Slack's 3000 ms/);
  });

  it('a bare acknowledgement is always fine', () => {
    expect(ackProblems(ack())).toEqual([]);
    expect(ackProblems(ack({}))).toEqual([]);
  });
});
