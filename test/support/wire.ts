import type http from 'node:http';
import { listen, readBody } from '../../src/fakes/http.js';
import { Recorder } from '../../src/fakes/recorder.js';
import { startHarness, type Harness } from './harness.js';

/** One call that went through a wire: what was asked, how it was answered, and when. */
export interface WireCall {
  method: string;
  /** Path as sent, e.g. `/api/chat.postMessage`. */
  path: string;
  body: string;
  status: number;
  /** The answer's Retry-After header, when there was one. */
  retryAfter: string | null;
  /** `Date.now()` when the request arrived at the wire, and when its answer came back. */
  sentAt: number;
  answeredAt: number;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/**
 * A pass-through between the bot and a fake server that notes when each call was made and
 * how it was answered, so a test can compare times (backoff, Retry-After) and see refused
 * calls, which the fakes' own recorders leave out.
 */
export class Wire {
  readonly calls = new Recorder<WireCall>();
  url = '';
  close: () => Promise<void> = async () => undefined;
  #target: string | null = null;

  static async start(): Promise<Wire> {
    const wire = new Wire();
    const { url, close } = await listen((req, res) => {
      void wire.#forward(req, res);
    });
    wire.url = url;
    wire.close = close;
    return wire;
  }

  /** Where calls go on to (a fake's base URL). Set before the first call is made. */
  forwardTo(url: string): void {
    this.#target = url;
  }

  to(pathEnd: string): WireCall[] {
    return this.calls.calls.filter((c) => c.path.endsWith(pathEnd));
  }

  /** Waits until `count` calls to a path ending in `pathEnd` have been answered. */
  waitFor(pathEnd: string, count = 1, timeoutMs?: number): Promise<WireCall[]> {
    return this.calls.waitFor((c) => c.path.endsWith(pathEnd), count, timeoutMs);
  }

  async #forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sentAt = Date.now();
    const body = await readBody(req);
    if (!this.#target) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('wire has no target');
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && !HOP_BY_HOP.has(e[0])),
    );
    const method = req.method ?? 'GET';
    const answer = await fetch(`${this.#target}${req.url ?? '/'}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
    const text = await answer.text();
    const retryAfter = answer.headers.get('retry-after');
    const out: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
    if (retryAfter !== null) out['retry-after'] = retryAfter;
    this.calls.push({ method, path: new URL(req.url ?? '/', 'http://x').pathname, body, status: answer.status, retryAfter, sentAt, answeredAt: Date.now() });
    res.writeHead(answer.status, out).end(text);
  }
}

export interface WiredHarness {
  h: Harness;
  /** Every call the bot made to GitLab / Slack's Web API, with times and answers. */
  gitlabWire: Wire;
  slackWire: Wire;
  stop(): Promise<void>;
}

/** The usual harness, with the bot's GitLab and Slack traffic going through wires. */
export async function startWiredHarness(extra: Record<string, string> = {}): Promise<WiredHarness> {
  const gitlabWire = await Wire.start();
  const slackWire = await Wire.start();
  const h = await startHarness({ GITLAB_URL: gitlabWire.url, SLACK_API_URL: `${slackWire.url}/api/`, ...extra });
  gitlabWire.forwardTo(h.gitlab.url);
  slackWire.forwardTo(h.slack.url);
  return {
    h,
    gitlabWire,
    slackWire,
    stop: async () => {
      await h.stop();
      await Promise.all([gitlabWire.close(), slackWire.close()]);
    },
  };
}
