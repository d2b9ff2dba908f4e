import type http from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import type { Metrics } from '../metrics.js';
import { listen } from './web-app.js';

export interface OpsOptions {
  metrics: Metrics;
  /** Null when the database takes writes; otherwise what is wrong (asks the database). */
  writeProblem: () => Promise<string | null>;
  /** Why the last write failed, or null (known without asking the database). */
  failing: () => string | null;
  /** True once shutdown began: readiness drops so no new traffic comes. */
  stopping: () => boolean;
  /** Serve /metrics on these routes (false when METRICS_PORT serves it apart). */
  metricsHere: boolean;
}

/** /healthz, /readyz and (unless it has a port of its own) /metrics. */
export function opsRoutes({ metrics, writeProblem, failing, stopping, metricsHere }: OpsOptions): Router {
  const routes = express.Router();
  routes.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Probes come often and from several places: the database is asked at most once a second,
  // and sooner only when a write has failed since (so readiness drops at once).
  let readiness: { at: number; problem: Promise<string | null>; known: string | null | undefined } | null = null;
  routes.get('/readyz', async (req, res) => {
    if (stopping()) {
      res.status(503).json({ status: 'stopping' });
      return;
    }
    const now = Date.now();
    const stale = !readiness || now - readiness.at >= 1000 || (readiness.known === null && failing() !== null);
    if (stale) {
      // Probes arriving while the database is asked share the one answer.
      // A question that failed is a problem too, cached like any answer (not a 500 for a second).
      const problem = Promise.resolve()
        .then(writeProblem)
        .catch((error: unknown) => {
          req.log.error({ error: error instanceof Error ? error.message : String(error) }, 'readiness: the database answered with an unexpected error');
          // Readiness answers anyone who asks: the database's own words (users, hosts) stay in the log.
          const code = (error as { code?: unknown } | null)?.code;
          return `The database cannot be written: it answered with an error the bot does not expect${typeof code === 'string' ? ` (${code})` : ''}; the bot's log has it.`;
        });
      const asked: NonNullable<typeof readiness> = { at: now, problem, known: undefined };
      readiness = asked;
      asked.known = await asked.problem;
    }
    const problem = await readiness!.problem;
    if (problem === null) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'unavailable', error: problem });
  });
  // With METRICS_PORT, /metrics stays off the public port (and whatever exposes it).
  if (metricsHere) routes.get('/metrics', serveMetrics(metrics));
  return routes;
}

const serveMetrics = (metrics: Metrics) => async (_req: Request, res: Response) => {
  res.type(metrics.registry.contentType).send(await metrics.render());
};

/** METRICS_PORT: a server that answers GET /metrics and nothing else. */
export async function startMetricsServer(metrics: Metrics, port: number, host: string | undefined): Promise<{ server: http.Server; port: number }> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', serveMetrics(metrics));
  app.use((_req, res) => {
    res.status(404).json({ error: 'This port serves GET /metrics only.' });
  });
  return listen(app, port, host);
}

/** Times GitLab's status check calls and counts their answers, whatever route answers them. */
export function webhookTimer(metrics: Metrics): express.RequestHandler {
  return (_req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => metrics.webhookAnswered(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    next();
  };
}
