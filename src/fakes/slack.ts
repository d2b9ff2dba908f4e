import crypto from 'node:crypto';
import type http from 'node:http';
import { messageProblems, messageTooLong, viewProblems } from './block-kit.js';
import { listen, readBody, send, type Canned } from './http.js';
import { Recorder } from './recorder.js';

export {
  appHomeOpened,
  buttonClick,
  eventCallback,
  homeButtonClick,
  reasonSubmission,
  rejectSubmission,
  sendCommand,
  sendEvent,
  sendInteraction,
  slackHeaders,
  slashCommand,
  urlVerification,
} from './slack-requests.js';

export interface SlackCall {
  method: string;
  token: string | undefined;
  body: Record<string, unknown>;
  /** The path called: `/api/<method>`, or `/response/<name>` for a response_url. */
  path: string;
}

/** How long a trigger_id may open a view, and how a response_url may be used (Slack's numbers). */
export const TRIGGER_TTL_MS = 3000;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;
export const RESPONSE_URL_USES = 5;

/** Methods whose `blocks` Slack checks against Block Kit's limits. */
const MESSAGE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'response_url']);
const VIEW_METHODS = new Set(['views.open', 'views.push', 'views.update', 'views.publish']);

/** Decodes a Web API form body; fields that hold JSON (blocks, view) are parsed back. */
function decodeForm(text: string, type: string | undefined): Record<string, unknown> {
  if (type?.includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    try {
      out[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
    } catch {
      out[key] = value;
    }
  }
  return out;
}

/**
 * A stand-in for the Slack Web API methods the bot calls (`POST /api/<method>`, form-encoded,
 * `Authorization: Bearer`), answering in Slack's shapes: `{ ok: true, ... }` or
 * `{ ok: false, error }`, HTTP 429 with `Retry-After` when asked to. Also the `response_url`
 * endpoint, recorded as method `response_url`.
 *
 * As strict as Slack: Block Kit limits (`invalid_blocks` in messages, `invalid_arguments` in views), a message's
 * blocks too long taken together (`msg_blocks_too_long`), trigger ids it issued itself that
 * live 3 s and open one view, `chat.update` only of messages it holds, response URLs it issued
 * that take 5 posts within 30 minutes, chat.postMessage at Slack's pace per channel
 * (`postLimit`: HTTP 429 and Retry-After beyond it). `slow` delays a method's answers, as a loaded Slack does.
 */
export class FakeSlack {
  readonly requests = new Recorder<SlackCall>();
  /** Calls answered with an error (queued or Slack's own), kept apart from the accepted ones. */
  readonly refused = new Recorder<SlackCall>();
  readonly #queued = new Map<string, Canned[]>();
  readonly #held = new Map<string, Array<{ arrived: () => void; released: Promise<void> }>>();
  readonly #groups = new Map<string, string[]>();
  readonly #emails = new Map<string, string | null>();
  readonly #triggers = new Map<string, { issuedAt: number; used: boolean }>();
  readonly #responseUrls = new Map<string, { issuedAt: number; uses: number }>();
  readonly #messages = new Set<string>();
  readonly #views = new Set<string>();
  readonly #slow = new Map<string, number>();
  /**
   * Slack's pace for chat.postMessage, per channel: about one message a second, short bursts
   * allowed (Slack gives no number for the burst; three is a cautious reading). Beyond it,
   * HTTP 429 with Retry-After and `ratelimited`, as Slack answers. Tests may raise the rate.
   */
  postLimit: { perSecond: number; burst: number } = { perSecond: 1, burst: 3 };
  /** Per channel: when its bucket would be full again (GCRA). */
  readonly #postTat = new Map<string, number>();
  #socketMode: { appToken: string; url: () => string } | null = null;
  #ts = 1_700_000_000;
  #ids = 0;
  /** The stand-in's clock, for expiry; tests may move it forward. */
  now: () => number = Date.now;
  url = '';
  close: () => Promise<void> = async () => undefined;

  constructor(
    readonly token: string,
    readonly channels: readonly string[],
  ) {}

  static async start(token: string, channels: readonly string[]): Promise<FakeSlack> {
    const fake = new FakeSlack(token, channels);
    const { url, close } = await listen((req, res) => {
      void fake.#handle(req, res);
    });
    fake.url = url;
    fake.close = close;
    return fake;
  }

  /** Base URL for SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /**
   * A response_url as Slack puts one in an interaction: fresh unless `name` names one issued
   * before (the same name is the same URL, with the uses it has had).
   */
  responseUrl(name = `r${++this.#ids}`): string {
    if (!this.#responseUrls.has(name)) this.#responseUrls.set(name, { issuedAt: this.now(), uses: 0 });
    return `${this.url}/response/${name}`;
  }

  /** A trigger_id as Slack puts one in an interaction it sends now: good for 3 s and one view. */
  triggerId(): string {
    const id = `${++this.#ids}.${this.now()}.${crypto.randomBytes(8).toString('hex')}`;
    this.#triggers.set(id, { issuedAt: this.now(), used: false });
    return id;
  }

  /** Someone deleted a message in Slack: updating it is message_not_found from now on. */
  deleteMessage(channel: string, ts: string): void {
    this.#messages.delete(`${channel}/${ts}`);
  }

  /**
   * The modals open so far were submitted or closed: Slack no longer has those views, so
   * views.update of one is `not_found` from now on.
   */
  closeViews(): void {
    this.#views.clear();
  }

  /** Makes Slack take `ms` to answer each call of `method` (0 to answer at once again). */
  slow(method: string, ms: number): void {
    this.#slow.set(method, ms);
  }

  /** The e-mail on a user's profile (`user@example.com` from the ID by default; null: none shared). */
  setEmail(userId: string, email: string | null): void {
    this.#emails.set(userId, email);
  }

  setGroup(id: string, users: string[]): void {
    this.#groups.set(id, users);
  }

  /**
   * Lets the app-level token (`xapp-…`) open Socket Mode connections: `apps.connections.open`
   * answers with the WebSocket URL `url` gives, one per call as Slack issues a ticket per call.
   */
  acceptSocketMode(appToken: string, url: () => string): void {
    this.#socketMode = { appToken, url };
  }

  /** Answer the next calls of `method` with these responses. */
  queue(method: string, ...responses: Canned[]): void {
    this.#queued.set(method, [...(this.#queued.get(method) ?? []), ...responses]);
  }

  /**
   * Holds the answer to the next call of `method` (as a slow Slack would) until `release`;
   * `arrived` resolves when the call is in. The answer itself is the usual one.
   */
  hold(method: string): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const arrivedP = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#held.set(method, [...(this.#held.get(method) ?? []), { arrived, released }]);
    return { arrived: arrivedP, release };
  }

  calls(method: string): SlackCall[] {
    return this.requests.calls.filter((c) => c.method === method);
  }

  waitFor(method: string, count = 1, match: (c: SlackCall) => boolean = () => true, timeoutMs?: number): Promise<SlackCall[]> {
    return this.requests.waitFor((c) => c.method === method && match(c), count, timeoutMs);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const method = path.startsWith('/response/') ? 'response_url' : path.replace(/^\/api\//, '');
    const auth = req.headers.authorization;
    let body: Record<string, unknown>;
    try {
      body = decodeForm(text, req.headers['content-type']);
    } catch {
      send(res, { status: 200, body: { ok: false, error: 'invalid_json' } });
      return;
    }
    const call: SlackCall = { method, token: auth?.replace(/^Bearer /, ''), body, path };
    const held = this.#held.get(method)?.shift();
    if (held) {
      held.arrived();
      await held.released;
    }
    const delay = this.#slow.get(method) ?? 0;
    if (delay > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (res.destroyed) return; // closed while it waited
    }
    const queued = this.#queued.get(method)?.shift();
    const answer = queued ?? this.#answer(call);
    this.#answers.set(call, answer.body);
    // Recorded only when accepted, so "how many cards" counts cards Slack really has.
    if (answer.status === 200 && (answer.body as { ok?: boolean }).ok !== false) this.requests.push(call);
    else this.refused.push(call);
    send(res, answer);
  }

  // --- Home tab, people and direct messages ---------------------------------------------
  // `views.publish`, `users.lookupByEmail` and `chat.postMessage` to a user's ID (a direct
  // message from the app). Only people added with `addPerson` exist in this workspace.

  readonly #people = new Map<string, string>();
  readonly #answers = new WeakMap<SlackCall, unknown>();

  /** What the stand-in answered to a call (a posted message's `ts`, say). */
  answerTo(call: SlackCall): Record<string, unknown> {
    return (this.#answers.get(call) ?? {}) as Record<string, unknown>;
  }

  /** A person in the workspace: found by `users.lookupByEmail`, reachable by direct message. */
  addPerson(userId: string, email: string): void {
    this.#people.set(email.toLowerCase(), userId);
    this.setEmail(userId, email);
  }

  /** The Home tab views published for a user, oldest first. */
  homeViews(userId: string): Array<{ type: string; blocks: Array<Record<string, unknown>> }> {
    return this.calls('views.publish')
      .filter((c) => c.body.user_id === userId)
      .map((c) => c.body.view as { type: string; blocks: Array<Record<string, unknown>> });
  }

  /** Direct messages the app sent to a user (chat.postMessage with the user's ID as channel). */
  directMessages(userId: string): SlackCall[] {
    return this.calls('chat.postMessage').filter((c) => c.body.channel === userId);
  }

  #answerHomeAndPeople(call: SlackCall): Canned | null {
    const ok = (body: Record<string, unknown> = {}): Canned => ({ status: 200, body: { ok: true, ...body } });
    const error = (code: string, extra: Record<string, unknown> = {}): Canned => ({ status: 200, body: { ok: false, error: code, ...extra } });
    switch (call.method) {
      case 'users.lookupByEmail': {
        const email = String(call.body.email ?? '').toLowerCase();
        if (!email) return error('invalid_arguments');
        const id = this.#people.get(email);
        return id ? ok({ user: { id, name: id.toLowerCase(), profile: { email } } }) : error('users_not_found');
      }
      case 'views.publish': {
        const userId = String(call.body.user_id ?? '');
        const view = call.body.view as { type?: unknown; blocks?: unknown } | undefined;
        if (!/^[UW][A-Z0-9]+$/.test(userId) || typeof view !== 'object' || view === null) return error('invalid_arguments');
        if (view.type !== 'home') return error('invalid_arguments');
        const problem = homeViewProblem(view.blocks);
        if (problem) return error('invalid_blocks', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
        return ok({ view: { id: `V${userId}`, type: 'home', blocks: view.blocks } });
      }
      case 'chat.postMessage': {
        const channel = String(call.body.channel ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(channel)) return null;
        // Slack opens the app's direct message channel with a person given by ID.
        if (![...this.#people.values()].includes(channel)) return error('channel_not_found');
        const ts = `${this.#ts++}.000300`;
        return ok({ channel: `D${channel.slice(1)}`, ts, message: { text: call.body.text, ts } });
      }
      default:
        return null;
    }
  }

  #answer(call: SlackCall): Canned {
    const ok = (body: Record<string, unknown> = {}): Canned => ({ status: 200, body: { ok: true, ...body } });
    const error = (code: string): Canned => ({ status: 200, body: { ok: false, error: code } });
    const messages = (problems: string[]) => ({ response_metadata: { messages: problems.map((m) => `[ERROR] ${m}`) } });
    // Slack's two shapes: a message's blocks are `invalid_blocks` (the problems twice, bare in
    // `errors`); a view's are `invalid_arguments`, as for any other bad argument of views.*.
    if (MESSAGE_METHODS.has(call.method)) {
      const problems = messageProblems(call.body.blocks);
      const refusal = problems.length ? 'invalid_blocks' : messageTooLong(call.body.blocks) ? 'msg_blocks_too_long' : null;
      // A response_url answers as an incoming webhook does: HTTP 400 and the bare code, no details.
      if (refusal && call.method === 'response_url') return { status: 400, headers: { 'content-type': 'text/plain' }, body: refusal };
      if (refusal === 'invalid_blocks') return { status: 200, body: { ok: false, error: refusal, errors: problems, ...messages(problems) } };
      if (refusal) return error(refusal);
    }
    if (VIEW_METHODS.has(call.method)) {
      const problems = viewProblems(call.body.view);
      if (problems.length) return { status: 200, body: { ok: false, error: 'invalid_arguments', ...messages(problems) } };
    }
    if (call.method === 'response_url') return this.#respond(call.path.replace(/^\/response\//, ''));
    if (call.method === 'apps.connections.open') {
      // Only the app-level token may open a connection; the bot token is the wrong kind.
      if (call.token === this.token) return error('not_allowed_token_type');
      if (!this.#socketMode || call.token !== this.#socketMode.appToken) return error('invalid_auth');
      return ok({ url: this.#socketMode.url() });
    }
    if (call.token !== this.token) return error('invalid_auth');
    if (call.method === 'chat.postMessage') {
      const limited = this.#overPostLimit(String(call.body.channel ?? ''));
      if (limited) return limited;
    }
    const home = this.#answerHomeAndPeople(call);
    if (home) return home;
    const channel = String(call.body.channel ?? '');
    switch (call.method) {
      case 'auth.test':
        return ok({ url: 'https://example.slack.com/', team: 'Example', user: 'approvals', team_id: 'T0001', user_id: 'U0BOT', bot_id: 'B0BOT' });
      case 'chat.postMessage': {
        if (!this.channels.includes(channel)) return error('channel_not_found');
        const ts = `${this.#ts++}.000100`;
        this.#messages.add(`${channel}/${ts}`);
        return ok({ channel, ts, message: { text: call.body.text, ts } });
      }
      case 'chat.update':
        if (!this.channels.includes(channel)) return error('channel_not_found');
        if (!this.#messages.has(`${channel}/${String(call.body.ts)}`)) return error('message_not_found');
        return ok({ channel, ts: call.body.ts, text: call.body.text });
      case 'chat.postEphemeral':
        if (!this.channels.includes(channel)) return error('channel_not_found');
        if (!call.body.user) return error('user_not_in_channel');
        return ok({ message_ts: `${this.#ts++}.000200` });
      case 'users.info': {
        const user = String(call.body.user ?? '');
        const email = this.#emails.has(user) ? this.#emails.get(user) : `${user.toLowerCase()}@example.com`;
        return ok({ user: { id: user, name: user.toLowerCase(), profile: email ? { email } : {} } });
      }
      case 'views.open':
      case 'views.push': {
        const refused = this.#useTrigger(String(call.body.trigger_id ?? ''));
        if (refused) return error(refused);
        return ok({ view: this.#view(call.body.view) });
      }
      case 'views.update':
        if (!this.#views.has(String(call.body.view_id ?? ''))) return error('not_found');
        return ok({ view: { ...(call.body.view as object), id: call.body.view_id } });
      case 'views.publish':
        if (!call.body.user_id) return error('invalid_arguments');
        return ok({ view: this.#view(call.body.view) });
      case 'usergroups.users.list': {
        const users = this.#groups.get(String(call.body.usergroup));
        return users ? ok({ users }) : error('no_such_subteam');
      }
      default:
        return error('unknown_method');
    }
  }

  /** A 429 when `channel` has had its messages for now, else null (and the message counts). */
  #overPostLimit(channel: string): Canned | null {
    const now = this.now();
    const interval = 1000 / this.postLimit.perSecond;
    const tolerance = (Math.max(1, this.postLimit.burst) - 1) * interval;
    const tat = Math.max(this.#postTat.get(channel) ?? now, now);
    const wait = tat - tolerance - now;
    if (wait > 0) {
      return { status: 429, headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) }, body: { ok: false, error: 'ratelimited' } };
    }
    this.#postTat.set(channel, tat + interval);
    return null;
  }

  /** Calls Slack refused for its rate limit (HTTP 429). */
  rateLimited(method = 'chat.postMessage'): SlackCall[] {
    return this.refused.calls.filter((c) => c.method === method && this.answerTo(c).error === 'ratelimited');
  }

  /** Why Slack would refuse this trigger_id for a view, or null when it opens one (and is spent). */
  #useTrigger(id: string): string | null {
    const trigger = this.#triggers.get(id);
    if (!trigger) return 'invalid_trigger_id';
    if (this.now() - trigger.issuedAt > TRIGGER_TTL_MS) return 'expired_trigger_id';
    if (trigger.used) return 'exchanged_trigger_id';
    trigger.used = true;
    return null;
  }

  #view(view: unknown): Record<string, unknown> {
    const id = `V${String(++this.#ids).padStart(8, '0')}`;
    this.#views.add(id);
    return { ...(view as object), id };
  }

  /** A post to a response_url: 404 for one Slack never issued, and once used up or expired. */
  #respond(name: string): Canned {
    const url = this.#responseUrls.get(name);
    if (!url) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no_service' };
    if (this.now() - url.issuedAt > RESPONSE_URL_TTL_MS) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'expired_url' };
    if (url.uses >= RESPONSE_URL_USES) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'used_url' };
    url.uses++;
    return { status: 200, body: { ok: true } };
  }
}

/** The first Block Kit limit a Home tab's blocks break, or null (Slack answers invalid_blocks). */
function homeViewProblem(blocks: unknown): string | null {
  if (!Array.isArray(blocks) || blocks.length === 0) return 'a view needs blocks';
  if (blocks.length > 100) return `a Home tab holds at most 100 blocks, got ${blocks.length}`;
  const text = (t: unknown) => String((t as { text?: unknown } | undefined)?.text ?? '');
  for (const [i, block] of (blocks as Array<Record<string, unknown>>).entries()) {
    if (block.type === 'section') {
      if (block.text !== undefined && (text(block.text).length < 1 || text(block.text).length > 3000)) return `blocks[${i}].text must be 1..3000 characters`;
      const fields = (block.fields ?? []) as unknown[];
      if (fields.length > 10) return `blocks[${i}].fields holds at most 10`;
      if (fields.some((f) => text(f).length > 2000)) return `blocks[${i}].fields: each at most 2000 characters`;
    }
    if (block.type === 'header' && (text(block.text).length < 1 || text(block.text).length > 150)) return `blocks[${i}].text must be 1..150 characters`;
    if (block.type === 'context') {
      const elements = (block.elements ?? []) as unknown[];
      if (elements.length < 1 || elements.length > 10) return `blocks[${i}].elements must be 1..10`;
    }
    if (block.type === 'actions') {
      const elements = (block.elements ?? []) as Array<Record<string, unknown>>;
      if (elements.length < 1 || elements.length > 25) return `blocks[${i}].elements must be 1..25`;
      for (const button of elements) {
        const label = text(button.text);
        if (label.length < 1 || label.length > 75) return `blocks[${i}]: button text must be 1..75 characters`;
        if (String(button.value ?? '').length > 2000) return `blocks[${i}]: button value at most 2000 characters`;
        if (String(button.url ?? '').length > 3000) return `blocks[${i}]: button url at most 3000 characters`;
      }
    }
  }
  return null;
}
