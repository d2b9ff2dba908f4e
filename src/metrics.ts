import client from 'prom-client';
import type { Lane } from './domain/effects.js';
import type { MetricsReadings } from './ports.js';

/** Webhook answers by what they mean to an operator. */
const WEBHOOK_OUTCOMES: Record<number, string> = {
  202: 'accepted',
  400: 'invalid',
  401: 'bad_signature',
  413: 'too_large',
  415: 'wrong_content_type',
  503: 'unavailable',
};

/**
 * The bot's Prometheus metrics, in a registry of its own (so tests can run several bots in
 * one process). Delivery gauges are read from the database at scrape time: they stay true
 * across restarts.
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly #checks;
  readonly #decisions;
  readonly #webhookSeconds;
  readonly #gitlabSeconds;
  readonly #slackSeconds;
  readonly #reconcileRepairs;
  readonly #reconcileLastSuccess;
  readonly #reconcileErrors;

  /** One reading of the outbox per scrape, shared by the gauges that show it. */
  #outbox: ReturnType<MetricsReadings['deliveryStats']> | null = null;

  constructor(store: MetricsReadings, clock: () => number = Date.now) {
    const outbox = () => (this.#outbox ??= store.deliveryStats(clock()));
    client.collectDefaultMetrics({ register: this.registry });
    this.#checks = new client.Counter({
      name: 'approval_checks_received_total',
      help: 'Status check calls from GitLab, by outcome (accepted, invalid, bad_signature, too_large, wrong_content_type, unavailable).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.#decisions = new client.Counter({
      name: 'approval_decisions_total',
      help: 'Decisions by outcome (approve, reject, refused) and channel (slack, web).',
      labelNames: ['outcome', 'via'],
      registers: [this.registry],
    });
    new client.Gauge({
      name: 'approval_deliveries',
      help: 'Effects in the outbox: pending (will be retried) and failed (gave up; see logs).',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const stats = await outbox();
        this.set({ state: 'pending' }, stats.pending);
        this.set({ state: 'failed' }, stats.failed);
      },
    });
    new client.Gauge({
      name: 'approval_delivery_oldest_pending_seconds',
      help: 'Age of the oldest effect still waiting to be delivered; 0 when none waits.',
      registers: [this.registry],
      async collect() {
        this.set((await outbox()).oldestPendingMs / 1000);
      },
    });
    new client.Gauge({
      name: 'approval_checks_pending',
      help: 'Checks waiting for a decision.',
      registers: [this.registry],
      async collect() {
        this.set(await store.countPending());
      },
    });
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.#webhookSeconds = new client.Histogram({
      name: 'approval_webhook_duration_seconds',
      help: 'Time to answer GitLab’s status check call.',
      buckets,
      registers: [this.registry],
    });
    this.#gitlabSeconds = new client.Histogram({
      name: 'approval_gitlab_request_duration_seconds',
      help: 'GitLab API calls by kind and outcome (delivered, retry, failed).',
      labelNames: ['kind', 'outcome'],
      buckets,
      registers: [this.registry],
    });
    this.#reconcileRepairs = new client.Counter({
      name: 'approval_reconcile_repaired_total',
      help: 'What reconcile sweeps repaired, by kind: created (a call GitLab never made), rereported (a decision GitLab never accepted), retired (a merge request merged or closed meanwhile).',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    for (const kind of ['created', 'rereported', 'retired']) this.#reconcileRepairs.inc({ kind }, 0);
    this.#reconcileErrors = new client.Counter({
      name: 'approval_reconcile_errors_total',
      help: 'Projects or merge requests a reconcile sweep could not check (see the logs).',
      registers: [this.registry],
    });
    this.#reconcileLastSuccess = new client.Gauge({
      name: 'approval_reconcile_last_success_timestamp_seconds',
      help: 'When the last reconcile sweep that reached every watched project ended (Unix time); 0 before the first.',
      registers: [this.registry],
    });
    this.#slackSeconds = new client.Histogram({
      name: 'approval_slack_request_duration_seconds',
      help: 'Slack API calls by kind and outcome (delivered, retry, failed).',
      labelNames: ['kind', 'outcome'],
      buckets,
      registers: [this.registry],
    });
  }

  /** One reconcile sweep ended: what it repaired, and whether it reached every project. */
  reconciled(repaired: Record<string, number>, errors: number, ok: boolean, at: number): void {
    for (const [kind, n] of Object.entries(repaired)) this.#reconcileRepairs.inc({ kind }, n);
    this.#reconcileErrors.inc(errors);
    if (ok) this.#reconcileLastSuccess.set(at / 1000);
  }

  webhookAnswered(status: number, seconds: number): void {
    this.#checks.inc({ outcome: WEBHOOK_OUTCOMES[status] ?? `http_${status}` });
    this.#webhookSeconds.observe(seconds);
  }

  decided(outcome: 'approve' | 'reject' | 'refused', via: 'slack' | 'web'): void {
    this.#decisions.inc({ outcome, via });
  }

  delivery(lane: Lane, kind: string, outcome: 'delivered' | 'retry' | 'failed', ms: number): void {
    (lane === 'gitlab' ? this.#gitlabSeconds : this.#slackSeconds).observe({ kind, outcome }, ms / 1000);
  }

  render(): Promise<string> {
    // prom-client calls every collect at once: this scrape's gauges share one fresh reading.
    this.#outbox = null;
    return this.registry.metrics();
  }
}
