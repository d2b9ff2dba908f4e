import crypto from 'node:crypto';
import { listen, readBody, send, type Canned } from './http.js';
import { Recorder } from './recorder.js';

export interface GitLabCall {
  method: string;
  path: string;
  token: string | undefined;
  body: Record<string, unknown>;
}

/**
 * A stand-in for the parts of GitLab's REST API the bot calls, speaking its wire format:
 * `POST /api/v4/projects/:id/merge_requests/:iid/status_check_responses` answers 201 with
 * the response row, 401 for a wrong token, 400 without a status, 409 when the SHA is not
 * the merge request's HEAD (when a HEAD was set with `setHead`).
 */
export class FakeGitLab {
  readonly requests = new Recorder<GitLabCall>();
  readonly #queued: Canned[] = [];
  readonly #heads = new Map<string, string>();
  #nextId = 1;
  url = '';
  close: () => Promise<void> = async () => undefined;

  constructor(
    readonly token: string,
    readonly onCall?: (call: GitLabCall, status: number) => void,
  ) {}

  static async start(token: string, onCall?: (call: GitLabCall, status: number) => void): Promise<FakeGitLab> {
    const fake = new FakeGitLab(token, onCall);
    const { url, close } = await listen((req, res) => {
      void fake.#handle(req, res);
    });
    fake.url = url;
    fake.close = close;
    return fake;
  }

  /** The status check responses received, in order. */
  get responses(): GitLabCall[] {
    return this.requests.calls.filter((c) => c.path.endsWith('/status_check_responses'));
  }

  waitForResponses(count = 1, timeoutMs?: number): Promise<GitLabCall[]> {
    return this.requests.waitFor((c) => c.path.endsWith('/status_check_responses'), count, timeoutMs);
  }

  /** Answer the next calls with these responses instead (for outages and refusals). */
  queue(...responses: Canned[]): void {
    this.#queued.push(...responses);
  }

  /** The merge request's HEAD; a response for another SHA is refused with 409. */
  setHead(projectId: number, iid: number, sha: string): void {
    this.#heads.set(`${projectId}/${iid}`, sha);
  }

  async #handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const text = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { unparsed: text };
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const call: GitLabCall = { method: req.method ?? 'GET', path, token: req.headers['private-token'] as string | undefined, body };
    const answer = this.#answer(call);
    this.requests.push(call);
    this.onCall?.(call, answer.status);
    send(res, answer);
  }

  #answer(call: GitLabCall): Canned {
    const queued = this.#queued.shift();
    if (queued) return queued;
    if (call.token !== this.token) return { status: 401, body: { message: '401 Unauthorized' } };
    const match = /^\/api\/v4\/projects\/(\d+)\/merge_requests\/(\d+)\/status_check_responses$/.exec(call.path);
    if (call.method !== 'POST' || !match) return { status: 404, body: { message: '404 Not Found' } };
    const { sha, external_status_check_id: checkId, status } = call.body;
    if (!['passed', 'failed', 'pending'].includes(String(status))) return { status: 400, body: { error: 'status does not have a valid value' } };
    const head = this.#heads.get(`${match[1]}/${match[2]}`);
    if (head && head !== sha) return { status: 409, body: { message: `SHA does not match HEAD of source branch: ${String(sha)}` } };
    return {
      status: 201,
      body: {
        id: this.#nextId++,
        merge_request: { id: 5512, iid: Number(match[2]), project_id: Number(match[1]) },
        external_status_check: { id: checkId, name: 'Change approval', external_url: 'https://approvals.example.com/status_check' },
      },
    };
  }
}

/** Signs a body the way GitLab signs status check calls: hex HMAC-SHA256 with the shared secret. */
export function gitlabSignature(body: string | Buffer, secret: string): string {
  return crypto.createHmac('sha256', secret).update(body).digest('hex');
}

/** Sends a status check call to the bot, signed when a secret is given. */
export async function sendStatusCheck(url: string, payload: unknown, secret: string | null): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers['x-gitlab-signature'] = gitlabSignature(body, secret);
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
