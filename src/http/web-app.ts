import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { StoreUnavailable, unavailableMessage } from '../ports.js';

/** The bot's express app: request logs without secrets, strict security headers. Routes are mounted by the caller. */
export function createWebApp(log: Logger): Express {
  const web = express();
  web.disable('x-powered-by');
  web.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : crypto.randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // No headers in request logs: they carry signatures and credentials. No query either:
      // /auth/callback carries the OAuth code and state there.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.replace(/\?.*$/s, '') }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => /\/(healthz|readyz|metrics)$/.test(req.url ?? '') },
    }),
  );
  web.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          styleSrc: ["'self'"],
          // The web list's own script (times in the viewer's zone, live updates) and its polling.
          scriptSrc: ["'self'"],
          connectSrc: ["'self'"],
          imgSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
    }),
  );
  return web;
}

/** After every route: a 404 that names the route, and errors answered without leaking internals. */
export function answerTheRest(web: Express): void {
  web.use((req, res) => {
    res.status(404).json({ error: `No route for ${req.method} ${req.path}` });
  });
  web.use((error: Error & { status?: number; type?: string; limit?: number }, req: Request, res: Response, _next: NextFunction) => {
    const status = error.status ?? 500;
    if (error instanceof StoreUnavailable) {
      req.log.warn({ error: error.message }, 'request refused: the database cannot be written');
      res.status(503).set('Retry-After', '30').json({ error: unavailableMessage(error) });
    } else if (error.type === 'entity.too.large') {
      res.status(413).json({ error: `Body is larger than this route accepts (${error.limit ?? 'its limit'} bytes).` });
    } else if (status < 500) {
      res.status(status).json({ error: error.message });
    } else {
      req.log.error({ error: error.message }, 'request failed');
      res.status(500).json({ error: 'Internal error; see the bot’s logs.' });
    }
  });
}

/** Listens on `port` (0: any free one); resolves once it does. */
export async function listen(handler: http.RequestListener, port: number, host: string | undefined): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
