import express, { type Request, type Response, type Router } from 'express';
import type { Gate } from '../gate.js';
import { StoreUnavailable } from '../ports.js';
import { readBounded, type BodyBudget } from './body.js';
import { describeProblem, statusCheckPayload, toEvent } from './payload.js';
import { candidateSecrets, looksLikeSignature, secretsFor, signedWith, type WebhookSecrets } from './secrets.js';

export interface WebhookOptions {
  gate: Gate;
  /** Who may sign calls; null only when unsigned calls were explicitly allowed. */
  secrets: WebhookSecrets | null;
  /** Largest body accepted, in bytes. */
  bodyLimit: number;
  /** Shared by every call being read: bounds what unverified bodies hold in memory. */
  budget: BodyBudget;
}

/** Past this, the rest of a refused body is not waited for: the answer goes out at once. */
const WAIT_FOR_REST = 64 * 1024;

/**
 * Answers with an error; the rest of the body is read and dropped (no byte kept). A small
 * body is answered once it is all in, so the connection stays usable for the client's next
 * request. A large one, or one past the limit, is answered at once with `Connection: close`:
 * the client must not send another request on a connection the bot is about to drop.
 */
function refuse(req: Request, res: Response, limit: number, status: number, error: string, headers: Record<string, string> = {}): void {
  const answer = (code: number, message: string, close: boolean) => {
    if (res.headersSent) return;
    res.status(code).set(close ? { ...headers, Connection: 'close' } : headers).json({ error: message });
  };
  const declared = Number(req.headers['content-length'] ?? 0);
  if (req.readableEnded) {
    answer(status, error, false);
    return;
  }
  if (status === 413 || declared > WAIT_FOR_REST) {
    answer(status, error, true);
    req.resume();
    return;
  }
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limit) answer(413, `Body is larger than this route accepts (${limit} bytes).`, true);
  });
  req.once('end', () => answer(status, error, false));
}

/**
 * `POST /status_check`: GitLab's external status check call. Refuse what can be refused from
 * the headers, read the body within the limits, verify, parse, store, answer 202; the card
 * is posted afterwards by the delivery worker. Nothing is parsed before the signature
 * matches one of the configured secrets, and nothing is written before it matches the
 * project's own.
 */
export function statusCheckRouter({ gate, secrets, bodyLimit, budget }: WebhookOptions): Router {
  const router = express.Router();
  const candidates = secrets ? candidateSecrets(secrets) : [];
  const fail = (req: Request, res: Response, status: number, error: string, headers?: Record<string, string>) => refuse(req, res, bodyLimit, status, error, headers);
  router.post('/status_check', async (req: Request, res: Response) => {
    if (!req.is('application/json')) {
      fail(req, res, 415, `Content-Type must be application/json, got ${req.get('content-type') ?? 'none'}.`);
      return;
    }
    const encoding = req.get('content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      fail(req, res, 415, `Content-Encoding ${encoding.slice(0, 40)} is not accepted: GitLab sends status check calls uncompressed.`);
      return;
    }
    const signature = req.get('x-gitlab-signature');
    if (secrets && !signature) {
      fail(req, res, 401, 'X-Gitlab-Signature header is missing: set the shared secret on the status check in GitLab.');
      return;
    }
    if (secrets && !looksLikeSignature(signature as string)) {
      fail(req, res, 401, 'X-Gitlab-Signature does not match the body: it is not a hex HMAC-SHA256 (64 hex digits), as GitLab 17.3 and later send.');
      return;
    }
    const read = await readBounded(req, bodyLimit, budget);
    if (!read.ok) {
      if (read.status === 503) req.log.warn({ inFlight: budget.used }, 'status check refused: the budget for bodies in flight is spent');
      if (read.status !== 0) fail(req, res, read.status, read.error, read.status === 503 ? { 'Retry-After': '5' } : {});
      return;
    }
    try {
      const body = read.body;
      const signedBy = secrets ? signedWith(body, signature as string, candidates) : null;
      if (secrets && signedBy === null) {
        req.log.warn('status check refused: signature does not match');
        fail(
          req,
          res,
          401,
          'X-Gitlab-Signature does not match the body with any configured secret: the status check’s shared secret in GitLab is not in GITLAB_WEBHOOK_SECRET or GITLAB_WEBHOOK_SECRETS_FILE.',
        );
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (error) {
        fail(req, res, 400, `Body is not valid JSON: ${(error as Error).message}`);
        return;
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        fail(req, res, 400, 'Body must be a JSON object (a GitLab status check call).');
        return;
      }
      const parsed = statusCheckPayload.safeParse(json);
      if (!parsed.success) {
        fail(req, res, 400, `Not a GitLab status check: ${describeProblem(parsed.error)}.`);
        return;
      }
      if (secrets) {
        const project = parsed.data.project.path_with_namespace;
        const own = secretsFor(secrets, project);
        if (!own) {
          req.log.warn({ project }, 'status check refused: no secret covers the project');
          fail(req, res, 401, `No entry of GITLAB_WEBHOOK_SECRETS_FILE covers project ${project}, and GITLAB_WEBHOOK_SECRET is not set: add an entry for it.`);
          return;
        }
        if (!own.secrets.includes(signedBy as string)) {
          req.log.warn({ project }, 'status check refused: signed with another project’s secret');
          fail(req, res, 401, `X-Gitlab-Signature was made with a secret that is not project ${project}’s: its calls must be signed with a secret of ${own.from}.`);
          return;
        }
      }
      let received;
      try {
        received = await gate.receive(toEvent(parsed.data));
      } catch (error) {
        req.log.error({ error: (error as Error).message }, 'status check could not be stored');
        if (error instanceof StoreUnavailable) {
          fail(req, res, 503, `The check could not be stored. ${error.message} Nothing was saved; press Retry on the check in GitLab once the bot is ready.`);
        } else {
          // A fault of the bot, not of the database: waiting will not help, and it is logged.
          fail(req, res, 500, 'The check could not be stored because of an error in the bot (it is logged). Nothing was saved.');
        }
        return;
      }
      res.status(202).json({ id: received.check.id, state: received.check.state });
    } finally {
      read.release();
    }
  });
  return router;
}
