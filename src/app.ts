import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, HTTPModuleFunctions, SocketModeReceiver, webApi } from '@slack/bolt';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from './config.js';
import type { DeliveryHandlers } from './delivery/handlers.js';
import { DeliveryWorker } from './delivery/worker.js';
import { Gate } from './gate.js';
import { gitlabDeliveries } from './gitlab/deliveries.js';
import { createAuthorLookup, createNotePoster } from './gitlab/merge-request.js';
import { createReporter } from './gitlab/reporter.js';
import { Authorizer } from './policy/authorize.js';
import { loadPolicy } from './policy/load.js';
import { Nudger } from './nudger.js';
import { Reconciler } from './reconciler.js';
import { isOpen, namesGitLabUser, type Rule } from './domain/policy.js';
import { statusCheckRouter } from './gitlab/webhook.js';
import { BodyBudget, sizeInBytes } from './gitlab/body.js';
import { boltLogger } from './logging.js';
import { Metrics } from './metrics.js';
import { authorNotices } from './slack/author-notice.js';
import { SlackDirectory } from './slack/directory.js';
import { HomeTab } from './slack/home.js';
import { cardDeliveries } from './slack/deliveries.js';
import { nudgeDeliveries } from './slack/nudges.js';
import { registerListeners } from './slack/listeners/index.js';
import { Store, StoreUnavailable } from './store/store.js';
import { webRouter } from './web/router.js';

export interface RunningBot {
  /** Base URL the bot answers on, BASE_PATH included. */
  url: string;
  port: number;
  /** The port /metrics is served on when METRICS_PORT is set; null when it is served on `port`. */
  metricsPort: number | null;
  store: Store;
  gate: Gate;
  /** Stops accepting, finishes what is in flight (bounded by SHUTDOWN_GRACE_MS), closes the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  clock?: () => Date;
  /** Interface to listen on; all interfaces by default. */
  host?: string;
}

/** The composition root: opens the database, wires the parts, starts serving. */
export async function startBot(config: Config, { log, clock = () => new Date(), host }: StartOptions): Promise<RunningBot> {
  if (!config.gitlab.webhookSecrets) {
    log.warn('ALLOW_UNSIGNED_WEBHOOKS=true: status check calls are accepted without a signature. Set GITLAB_WEBHOOK_SECRET once GitLab is 17.3 or later.');
  }
  const fallback = defaultRule(config);
  // Read before anything else starts: an invalid policy stops the bot with its line numbers.
  const policy = config.policyFile ? loadPolicy(config.policyFile, fallback) : { rules: [], fallback };
  for (const rule of [...policy.rules, fallback]) {
    if (isOpen(rule.approvers)) log.warn({ rule: rule.name }, 'a rule names no approvers: anyone who can see its cards can approve them. Set APPROVERS or the rule’s approvers.');
  }

  const store = new Store(config.databasePath);
  const metrics = new Metrics(store);
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl ?? undefined,
    // The delivery worker owns retries; the client fails fast so state stays visible.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: config.gitlab.requestTimeoutMs,
    logger: boltLogger(log),
  };
  const slack = new webApi.WebClient(config.slack.botToken, clientOptions);

  const gitlabOptions = { url: config.gitlab.url, token: config.gitlab.token, timeoutMs: config.gitlab.requestTimeoutMs };
  const directory = new SlackDirectory({ client: slack, log });
  const authorization = new Authorizer({ policy, slack: directory, findAuthors: createAuthorLookup(gitlabOptions), log });
  const historyUrl = (id: number) => (config.publicUrl ? `${config.publicUrl}${config.basePath}/checks/${id}` : null);
  let worker: DeliveryWorker | null = null;
  const gate = new Gate({
    store,
    clock,
    log,
    draftCards: config.draftCards,
    notifyAuthors: config.notifyAuthors,
    authorization,
    onWork: () => worker?.kick(),
    onDecision: (outcome, actor) => metrics.decided(outcome, actor.via),
  });
  const webListUrl = config.publicUrl ? `${config.publicUrl}${config.basePath}/` : null;
  const home = new HomeTab({ gate, store, client: slack, clock, emailOf: (id) => directory.email(id), webListUrl, historyUrl });
  // Typed as every kind's handler: a kind of effect nobody delivers does not compile.
  const handlers: DeliveryHandlers = {
    ...cardDeliveries({ client: slack, store, clock, channelFor: (check) => authorization.ruleFor(check).channel, historyUrl, freezeOf: (check) => gate.freezeOf(check)?.reason ?? null }),
    ...home.deliveries(),
    ...authorNotices({ client: slack, store, clock, findAuthors: (check) => authorization.authorsOf(check), historyUrl }),
    ...gitlabDeliveries({
      store,
      clock,
      report: createReporter(gitlabOptions),
      postNote: createNotePoster(gitlabOptions),
      cardChanged: (id) => gate.cardChanged(id),
      reportRefused: (id) => gate.reportRefused(id),
    }),
    ...nudgeDeliveries({ client: slack, store, clock, ruleFor: (check) => authorization.ruleFor(check) }),
  };
  worker = new DeliveryWorker({
    store,
    log: log.child({ component: 'delivery' }),
    baseDelayMs: config.delivery.baseDelayMs,
    maxDelayMs: config.delivery.maxDelayMs,
    onOutcome: (lane, kind, outcome, ms) => metrics.delivery(lane, kind, outcome, ms),
    handlers,
  });

  // --- HTTP ------------------------------------------------------------------------------
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

  const routes = express.Router();
  let stopping = false;
  routes.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Probes come often and from several places: the database is asked at most once a second,
  // and sooner only when a write has failed since (so readiness drops at once).
  let readiness: { at: number; problem: string | null } | null = null;
  routes.get('/readyz', (_req, res) => {
    if (stopping) {
      res.status(503).json({ status: 'stopping' });
      return;
    }
    const now = Date.now();
    const stale = !readiness || now - readiness.at >= 1000 || (readiness.problem === null && store.failing !== null);
    if (stale) readiness = { at: now, problem: store.writeProblem(clock()) };
    const problem = readiness!.problem;
    if (problem === null) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'unavailable', error: problem });
  });
  const serveMetrics = async (_req: Request, res: Response) => {
    res.type(metrics.registry.contentType).send(await metrics.render());
  };
  // With METRICS_PORT, /metrics stays off the public port (and whatever exposes it).
  if (config.metricsPort === null) routes.get('/metrics', serveMetrics);
  routes.use('/status_check', (_req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => metrics.webhookAnswered(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    next();
  });
  routes.use(
    statusCheckRouter({
      gate,
      secrets: config.gitlab.webhookSecrets,
      bodyLimit: sizeInBytes(config.webhookBodyLimit),
      budget: new BodyBudget(config.webhookBufferLimit),
    }),
  );

  // --- Slack -----------------------------------------------------------------------------
  let identity: Promise<{ botId?: string; botUserId?: string }> | null = null;
  const authorize = async () => {
    // Remembered once known; asked again after a failure rather than failing every request.
    identity ??= slack.auth.test().then(
      (r) => ({ botId: r.bot_id, botUserId: r.user_id }),
      (error: unknown) => {
        identity = null;
        throw error;
      },
    );
    return { botToken: config.slack.botToken, ...(await identity) };
  };
  const boltLog = boltLogger(log);
  let bolt: App;
  let socketMode: SocketModeReceiver | null = null;
  if (config.slack.appToken) {
    // Built here rather than by Bolt so stop() can wait for the socket to close: Bolt's stop()
    // returns before it has, and an envelope arriving then would find the database closed.
    socketMode = new SocketModeReceiver({ appToken: config.slack.appToken, logger: boltLog, installerOptions: { clientOptions } });
    bolt = new App({ authorize, receiver: socketMode, logger: boltLog, clientOptions });
  } else {
    const slackRoutes = express.Router();
    const receiver = new ExpressReceiver({
      signingSecret: config.slack.signingSecret as string,
      endpoints: '/slack/events',
      router: slackRoutes,
      app: express(), // unused: the routes are mounted on ours, under BASE_PATH
      logger: boltLog,
      // A click that cannot be written down is not acknowledged: Slack hears 503, the person an error.
      processEventErrorHandler: async (args) => {
        if (!(args.error instanceof StoreUnavailable) || args.response.headersSent) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
        log.warn({ error: args.error.message }, 'Slack request not taken: the database cannot be written');
        args.response.writeHead(503, { 'content-type': 'application/json' });
        args.response.end(JSON.stringify({ error: unavailable(args.error) }));
        return true; // answered: no "not acknowledged" complaint from Bolt 3 s later
      },
    });
    bolt = new App({ authorize, receiver, logger: boltLog, clientOptions });
    routes.use(slackRoutes);
  }
  registerListeners(bolt, { gate, clock, webListUrl, home });

  const gitlabSignIn = config.oauth && { ...config.oauth, gitlabUrl: config.gitlab.url, timeoutMs: config.gitlab.requestTimeoutMs };
  const admits = gitlabSignIn ? approversOnGitLab(policy, log) : undefined;
  routes.use(webRouter({ gate, basePath: config.basePath, users: config.webUsers, clock, gitlabSignIn, admits }));
  web.use(config.basePath || '/', routes);
  web.use((req, res) => {
    res.status(404).json({ error: `No route for ${req.method} ${req.path}` });
  });
  web.use((error: Error & { status?: number; type?: string; limit?: number }, req: Request, res: Response, _next: NextFunction) => {
    const status = error.status ?? 500;
    if (error instanceof StoreUnavailable) {
      req.log.warn({ error: error.message }, 'request refused: the database cannot be written');
      res.status(503).set('Retry-After', '30').json({ error: unavailable(error) });
    } else if (error.type === 'entity.too.large') {
      res.status(413).json({ error: `Body is larger than this route accepts (${error.limit ?? 'its limit'} bytes).` });
    } else if (status < 500) {
      res.status(status).json({ error: error.message });
    } else {
      req.log.error({ error: error.message }, 'request failed');
      res.status(500).json({ error: 'Internal error; see the bot’s logs.' });
    }
  });

  const server = http.createServer(web);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let metricsServer: http.Server | null = null;
  if (config.metricsPort !== null) {
    const metricsApp = express();
    metricsApp.disable('x-powered-by');
    metricsApp.get('/metrics', serveMetrics);
    metricsApp.use((_req, res) => {
      res.status(404).json({ error: 'This port serves GET /metrics only.' });
    });
    const listening = http.createServer(metricsApp);
    metricsServer = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(config.metricsPort ?? 0, host, () => resolve());
    });
  }
  const metricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : null;
  if (config.slack.appToken) await bolt.start();
  worker.start();
  await gate.resume();
  const reconciler =
    config.reconcile.intervalSeconds > 0
      ? new Reconciler({
          gate,
          store,
          log: log.child({ component: 'reconcile' }),
          gitlab: gitlabOptions,
          projects: config.reconcile.projects,
          intervalMs: config.reconcile.intervalSeconds * 1000,
          ourUrl: config.publicUrl ? `${config.publicUrl}${config.basePath}/status_check` : null,
          onSweep: (summary, ok) => metrics.reconciled(summary.repaired, summary.errors, ok, Date.now()),
        })
      : null;
  reconciler?.start();
  const nudger = new Nudger({ store, log: log.child({ component: 'reminders' }), clock, ruleFor: (check) => authorization.ruleFor(check), onWork: () => worker?.kick() });
  nudger.start();
  log.info({ port, metricsPort, basePath: config.basePath, socketMode: Boolean(config.slack.appToken) }, 'gitlab-approval-bot is serving');

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      const deadline = Date.now() + config.shutdownGraceMs;
      stopping = true;
      log.info('shutting down: finishing requests and deliveries in flight');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // close() drops only the connections idle right now; a keep-alive one busy at the signal
      // (a proxy's, a load balancer's) would hold the stop until the deadline and leave no time
      // for deliveries. Let each go as soon as its answer is out.
      const letGo = setInterval(() => server.closeIdleConnections(), 20);
      const bounded = <T>(work: Promise<T>) =>
        Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      await bounded(closed);
      clearInterval(letGo);
      server.closeAllConnections();
      if (socketMode) await bounded(socketMode.client.disconnect());
      await bounded(reconciler?.stop() ?? Promise.resolve());
      nudger.stop();
      await bounded(gate.settled());
      const drained = await worker.stop(Math.max(0, deadline - Date.now()));
      if (!drained) log.warn('deliveries still in flight at shutdown: they will be sent after the next start');
      metricsServer?.closeAllConnections();
      metricsServer?.close();
      store.close();
      log.info('stopped');
    })();
    return stopped;
  };

  return { url: `http://127.0.0.1:${port}${config.basePath}`, port, metricsPort, store, gate, stop };
}

/** What a person is told when the database cannot take their request. */
function unavailable(error: StoreUnavailable): string {
  return error.kept ? error.message : `${error.message} Nothing was recorded; try again in a minute.`;
}

/**
 * The rule for checks no policy rule matches: Slack people in APPROVERS, GitLab users in
 * GITLAB_APPROVERS, and the WEB_USERS names. With no Slack or GitLab approver named,
 * anyone may decide (as before WEB_USERS existed).
 */
function defaultRule(config: Config): Rule {
  const named = config.approvers.length > 0 || config.gitlabApprovers.length > 0;
  return {
    name: 'default',
    projects: ['**'],
    branches: ['**'],
    channel: config.slack.channel,
    approvers: named
      ? { slack: config.approvers, emails: [], gitlab: config.gitlabApprovers, web: config.webUsers.map((u) => u.name) }
      : { slack: [], emails: [], gitlab: [], web: [] },
    required: 1,
    allowSelfApproval: config.allowSelfApproval,
    approveWithComment: false,
  };
}

/**
 * Whom Sign in with GitLab lets into the web list: people some rule names, by GitLab username
 * or by an e-mail GitLab has confirmed. A rule that names nobody admits nobody this way.
 */
function approversOnGitLab(policy: { rules: Rule[]; fallback: Rule }, log: Logger): (person: { username: string; email: string | null }) => boolean {
  const lower = (s: string) => s.trim().toLowerCase();
  const rules = [...policy.rules, policy.fallback];
  // Backup approvers (escalate_to) and break_glass people decide on the web list too.
  const usernames = rules.flatMap((r) => [...r.approvers.gitlab, ...(r.reminders?.escalateTo?.gitlab ?? []), ...(r.breakGlass?.gitlab ?? [])]);
  const emails = new Set(rules.flatMap((r) => r.approvers.emails.map(lower)));
  for (const rule of rules.filter((r) => isOpen(r.approvers))) {
    log.warn({ rule: rule.name }, 'Sign in with GitLab admits nobody through a rule that names no approvers: name people in GITLAB_APPROVERS or the rule’s approvers.gitlab or approvers.emails.');
  }
  if (usernames.length + emails.size === 0) {
    log.warn('Sign in with GitLab admits nobody until GITLAB_APPROVERS or a policy rule (approvers.gitlab, approvers.emails) names people.');
  }
  return (person) => namesGitLabUser(usernames, person.username) || (person.email !== null && emails.has(lower(person.email)));
}
