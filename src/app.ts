import crypto from 'node:crypto';
import { webApi } from '@slack/bolt';
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { DeliveryHandlers } from './delivery/handlers.js';
import { Pacer } from './delivery/pacer.js';
import { DeliveryWorker } from './delivery/worker.js';
import { Gate } from './gate.js';
import { BodyBudget, sizeInBytes } from './gitlab/body.js';
import { gitlabDeliveries } from './gitlab/deliveries.js';
import { createAuthorLookup, createNotePoster } from './gitlab/merge-request.js';
import { gitlabNotes } from './gitlab/notes.js';
import { createReporter } from './gitlab/reporter.js';
import { statusCheckRouter } from './gitlab/webhook.js';
import { opsRoutes, startMetricsServer, webhookTimer } from './http/ops.js';
import { answerTheRest, createWebApp, listen } from './http/web-app.js';
import { boltLogger } from './logging.js';
import { Metrics } from './metrics.js';
import { Nudger } from './nudger.js';
import { Authorizer } from './policy/authorize.js';
import { approversOnGitLab, defaultRule, warnOpenRules } from './policy/defaults.js';
import { loadPolicy } from './policy/load.js';
import { Reconciler } from './reconciler.js';
import { shutdownOnce } from './shutdown.js';
import { authorNotices } from './slack/author-notice.js';
import { cardDeliveries } from './slack/deliveries.js';
import { SlackDirectory } from './slack/directory.js';
import { HomeTab } from './slack/home.js';
import { registerListeners } from './slack/listeners/index.js';
import { nudgeDeliveries } from './slack/nudges.js';
import { createSlackReceiver } from './slack/receiver.js';
import { openStore, type Store } from './store/store.js';
import { CsrfTokens } from './web/auth.js';
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

/** The composition root: opens the database, wires the parts, starts serving. Wiring only. */
export async function startBot(config: Config, { log, clock = () => new Date(), host }: StartOptions): Promise<RunningBot> {
  if (!config.gitlab.webhookSecrets) {
    log.warn('ALLOW_UNSIGNED_WEBHOOKS=true: status check calls are accepted without a signature. Set GITLAB_WEBHOOK_SECRET once GitLab is 17.3 or later.');
  }
  const fallback = defaultRule(config);
  // Read before anything else starts: an invalid policy stops the bot with its line numbers.
  const policy = config.policyFile ? loadPolicy(config.policyFile, fallback) : { rules: [], fallback };
  warnOpenRules(policy, log);

  // PostgreSQL when DATABASE_URL is set (several replicas), else the SQLite file.
  const store = await openStore(config.databaseUrl ?? config.databasePath, { deliveryLeaseMs: config.deliveryLeaseMs });
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
  const webListUrl = config.publicUrl ? `${config.publicUrl}${config.basePath}/` : null;
  const gate = new Gate({
    store,
    clock,
    log,
    draftCards: config.draftCards,
    notifyAuthors: config.notifyAuthors,
    authorization,
    onDecision: (outcome, actor) => metrics.decided(outcome, actor.via),
    notes: gitlabNotes,
  });
  const home = new HomeTab({
    gate,
    store,
    client: slack,
    clock,
    emailOf: (id) => directory.email(id),
    webListUrl,
    historyUrl,
    freezeOf: (check) => {
      const freeze = gate.freezeOf(check);
      return freeze ? `Frozen: ${freeze.reason}` : null;
    },
  });
  // Slack takes about one message a second per channel: cards, reminders and escalations share it.
  const postPacer = new Pacer(config.slack.postPerSecond);
  // Typed as every kind's handler: a kind of effect nobody delivers does not compile.
  const handlers: DeliveryHandlers = {
    ...cardDeliveries({ client: slack, store, clock, channelFor: (check) => authorization.ruleFor(check).channel, historyUrl, freezeOf: (check) => gate.frozenNow(check), pacer: postPacer }),
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
    ...nudgeDeliveries({ client: slack, store, clock, ruleFor: (check) => authorization.ruleFor(check), pacer: postPacer }),
  };
  const worker = new DeliveryWorker({
    store,
    // Another replica may queue work this one is not told of: look at least every second.
    pollMs: store.dialect === 'postgres' ? 1000 : undefined,
    leaseRenewalMs: store.dialect === 'postgres' ? config.deliveryLeaseMs / 3 : undefined,
    log: log.child({ component: 'delivery' }),
    baseDelayMs: config.delivery.baseDelayMs,
    maxDelayMs: config.delivery.maxDelayMs,
    onOutcome: (lane, kind, outcome, ms) => metrics.delivery(lane, kind, outcome, ms),
    handlers,
  });
  // New deliveries wake their lane once committed, whoever queued them.
  store.onQueued((lanes) => worker.kick(lanes));

  // --- HTTP: ops, GitLab's calls, Slack's events, the web list, all under BASE_PATH ---------
  let stopping = false;
  const routes = express.Router();
  routes.use(
    opsRoutes({ metrics, writeProblem: () => store.writeProblem(clock()), failing: () => store.failing, stopping: () => stopping, metricsHere: config.metricsPort === null }),
  );
  routes.use('/status_check', webhookTimer(metrics));
  routes.use(
    statusCheckRouter({
      gate,
      secrets: config.gitlab.webhookSecrets,
      bodyLimit: sizeInBytes(config.webhookBodyLimit),
      budget: new BodyBudget(config.webhookBufferLimit),
    }),
  );
  const slackReceiver = createSlackReceiver({
    botToken: config.slack.botToken,
    appToken: config.slack.appToken,
    signingSecret: config.slack.signingSecret,
    client: slack,
    clientOptions,
    log,
  });
  if (slackReceiver.routes) routes.use(slackReceiver.routes);
  registerListeners(slackReceiver.app, { gate, clock, webListUrl, home });
  const gitlabSignIn = config.oauth && { ...config.oauth, gitlabUrl: config.gitlab.url, timeoutMs: config.gitlab.requestTimeoutMs };
  const admits = gitlabSignIn ? approversOnGitLab(policy, log) : undefined;
  // One key for every replica: a form one of them served is accepted by the others.
  const csrf = new CsrfTokens(Buffer.from(await store.sharedKey('csrf', () => crypto.randomBytes(32).toString('base64')), 'base64'));
  routes.use(webRouter({ gate, basePath: config.basePath, users: config.webUsers, clock, csrf, gitlabSignIn, admits }));
  const web = createWebApp(log);
  web.use(config.basePath || '/', routes);
  answerTheRest(web);

  const { server, port } = await listen(web, config.port, host);
  const metricsServer = config.metricsPort !== null ? await startMetricsServer(metrics, config.metricsPort, host) : null;
  await slackReceiver.start();
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
  const nudger = new Nudger({ store, log: log.child({ component: 'reminders' }), clock, ruleFor: (check) => authorization.ruleFor(check) });
  nudger.start();
  log.info({ port, metricsPort: metricsServer?.port ?? null, basePath: config.basePath, socketMode: Boolean(config.slack.appToken) }, 'gitlab-approval-bot is serving');

  const stop = shutdownOnce({
    graceMs: config.shutdownGraceMs,
    log,
    onStopping: () => (stopping = true),
    server,
    metricsServer: metricsServer?.server ?? null,
    slack: slackReceiver,
    reconciler,
    nudger,
    gate,
    worker,
    store,
  });
  return { url: `http://127.0.0.1:${port}${config.basePath}`, port, metricsPort: metricsServer?.port ?? null, store, gate, stop };
}
