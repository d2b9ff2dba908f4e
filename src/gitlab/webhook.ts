import crypto from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Gate } from '../gate.js';
import { StoreUnavailable } from '../store/store.js';
import { describeProblem, statusCheckPayload, toEvent } from './payload.js';

export interface WebhookOptions {
  gate: Gate;
  /** The check's shared secret; null only when unsigned calls were explicitly allowed. */
  secret: string | null;
  /** Largest body accepted, in bytes or an express size string ("25mb"). */
  bodyLimit: string | number;
}

/** Constant-time check of GitLab's `X-Gitlab-Signature`: hex HMAC-SHA256 of the raw body. */
export function signatureMatches(body: Buffer, header: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(body).digest();
  const given = /^[0-9a-f]{64}$/i.test(header) ? Buffer.from(header, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const fail = (res: Response, status: number, error: string): void => {
  res.status(status).json({ error });
};

/**
 * `POST /status_check`: GitLab's external status check call. Verify, parse, store, answer
 * 202; the card is posted afterwards by the delivery worker.
 */
export function statusCheckRouter({ gate, secret, bodyLimit }: WebhookOptions): Router {
  const router = express.Router();
  router.post(
    '/status_check',
    (req, res, next) => {
      // Refuse before reading a body we would not accept anyway.
      if (!req.is('application/json')) {
        fail(res, 415, `Content-Type must be application/json, got ${req.get('content-type') ?? 'none'}.`);
        return;
      }
      next();
    },
    express.raw({ type: () => true, limit: bodyLimit }),
    (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (secret !== null) {
        const header = req.get('x-gitlab-signature');
        if (!header) {
          fail(res, 401, 'X-Gitlab-Signature header is missing: set the shared secret on the status check in GitLab.');
          return;
        }
        if (!signatureMatches(body, header, secret)) {
          req.log.warn('status check refused: signature does not match');
          fail(res, 401, 'X-Gitlab-Signature does not match the body: the shared secret differs from GITLAB_WEBHOOK_SECRET.');
          return;
        }
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (error) {
        fail(res, 400, `Body is not valid JSON: ${(error as Error).message}`);
        return;
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        fail(res, 400, 'Body must be a JSON object (a GitLab status check call).');
        return;
      }
      const parsed = statusCheckPayload.safeParse(json);
      if (!parsed.success) {
        fail(res, 400, `Not a GitLab status check: ${describeProblem(parsed.error)}.`);
        return;
      }
      let received;
      try {
        received = gate.receive(toEvent(parsed.data));
      } catch (error) {
        req.log.error({ error: (error as Error).message }, 'status check could not be stored');
        const why = error instanceof StoreUnavailable ? error.message : 'The database is unavailable.';
        fail(res, 503, `The check could not be stored. ${why} Nothing was saved; press Retry on the check in GitLab once the bot is ready.`);
        return;
      }
      res.status(202).json({ id: received.check.id, state: received.check.state });
    },
  );
  return router;
}
