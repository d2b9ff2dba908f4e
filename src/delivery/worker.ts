import type { Logger } from 'pino';
import type { Delivery, Lane, Store } from '../store/store.js';

/**
 * Why a delivery failed. `permanent` stops retrying (a 4xx that no retry will fix);
 * `retryAfterMs` is the server's own word on when to come back (HTTP 429).
 */
export class DeliveryFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
    /** The HTTP status the other side answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DeliveryFailure';
  }
}

/**
 * Delivers one kind of effect. Returns what to write when it succeeded (run in the same
 * transaction that removes the delivery), or throws a DeliveryFailure.
 */
export interface DeliveryHandler {
  deliver(delivery: Delivery): Promise<(() => void) | void>;
  /** Called (inside a transaction) when the delivery failed; `final` when it will not be retried. */
  failed?(delivery: Delivery, failure: DeliveryFailure, final: boolean): void;
}

export interface WorkerOptions {
  store: Store;
  log: Logger;
  handlers: Record<string, DeliveryHandler>;
  clock?: () => number;
  random?: () => number;
  /** First retry delay; doubles each attempt up to `maxDelayMs`, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  onOutcome?: (lane: Lane, kind: string, outcome: 'delivered' | 'retry' | 'failed', ms: number) => void;
}

/**
 * Sends what the outbox holds, one lane at a time (Slack, GitLab), so a GitLab outage does
 * not hold back cards and a Slack rate limit does not hold back reports. Retries with
 * exponential backoff and jitter, honours Retry-After, and resumes after a restart because
 * the outbox is in the database.
 */
export class DeliveryWorker {
  readonly #o: Required<Omit<WorkerOptions, 'onOutcome'>> & Pick<WorkerOptions, 'onOutcome'>;
  readonly #lanes = new Map<Lane, LaneLoop>();
  #running = false;

  constructor(options: WorkerOptions) {
    this.#o = { clock: Date.now, random: Math.random, ...options };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const lane of ['slack', 'gitlab'] as const) {
      // A delivery on one lane may queue work on another (a report queues a card update).
      const loop = new LaneLoop(lane, this.#o, () => this.kick());
      this.#lanes.set(lane, loop);
      loop.run();
    }
  }

  /** New work was written: look now rather than at the next timer. */
  kick(): void {
    for (const loop of this.#lanes.values()) loop.wake();
  }

  /** Stops taking new deliveries; waits up to `graceMs` for the ones in flight. */
  async stop(graceMs: number): Promise<boolean> {
    this.#running = false;
    const loops = [...this.#lanes.values()];
    for (const loop of loops) loop.stop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const drained = await Promise.race([Promise.all(loops.map((l) => l.done)).then(() => true), timeout]);
    clearTimeout(timer);
    return drained;
  }
}

class LaneLoop {
  #stopped = false;
  #wake: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #pausedUntil = 0;
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly lane: Lane,
    readonly o: Required<Omit<WorkerOptions, 'onOutcome'>> & Pick<WorkerOptions, 'onOutcome'>,
    readonly wakeAll: () => void,
  ) {}

  run(): void {
    this.done = this.#loop();
  }

  wake(): void {
    this.#wake?.();
  }

  stop(): void {
    this.#stopped = true;
    this.wake();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const now = this.o.clock();
      const next = now >= this.#pausedUntil ? this.o.store.nextDue(this.lane, now) : null;
      if (!next) {
        await this.#idle(now);
        continue;
      }
      try {
        await this.#attempt(next);
      } catch (error) {
        // The database refused to record the outcome (another process holds its lock, the disk is
        // full): the delivery is still due, so pause and try again rather than end this lane.
        this.#pausedUntil = this.o.clock() + this.#backoff(next.attempts);
        this.o.log.error({ lane: this.lane, deliveryId: next.id, error: error instanceof Error ? error.message : String(error) }, 'delivery outcome not recorded; will try again');
      }
      this.wakeAll();
    }
  }

  /** Waits for a kick or for the earliest due delivery, whichever comes first. */
  async #idle(now: number): Promise<void> {
    const due = this.o.store.earliestDue(this.lane);
    const until = Math.max(due ?? Infinity, this.#pausedUntil);
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (Number.isFinite(until)) {
        // Capped so a clock change cannot park the loop for long; unref'd so it never holds the process.
        this.#timer = setTimeout(resolve, Math.min(Math.max(until - now, 0), 60_000));
        this.#timer.unref();
      }
    });
    this.#wake = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #attempt(delivery: Delivery): Promise<void> {
    const { store, log, handlers } = this.o;
    const handler = handlers[delivery.kind];
    const started = this.o.clock();
    const context = { deliveryId: delivery.id, checkId: delivery.checkId, kind: delivery.kind, attempt: delivery.attempts + 1 };
    if (!handler) {
      store.giveUp(delivery.id, `no handler for ${delivery.kind}`);
      log.error(context, 'delivery has no handler');
      return;
    }
    try {
      const apply = await handler.deliver(delivery);
      store.transaction(() => {
        apply?.();
        store.delivered(delivery.id);
      });
      this.o.onOutcome?.(this.lane, delivery.kind, 'delivered', this.o.clock() - started);
      log.info(context, 'delivered');
    } catch (error) {
      const failure =
        error instanceof DeliveryFailure ? error : new DeliveryFailure(error instanceof Error ? error.message : String(error), false);
      const elapsed = this.o.clock() - started;
      if (failure.permanent) {
        store.transaction(() => {
          store.giveUp(delivery.id, failure.message);
          handler.failed?.(delivery, failure, true);
        });
        this.o.onOutcome?.(this.lane, delivery.kind, 'failed', elapsed);
        log.error({ ...context, error: failure.message }, 'delivery failed for good');
        return;
      }
      const delay = failure.retryAfterMs ?? this.#backoff(delivery.attempts);
      const nextAt = this.o.clock() + delay;
      // A rate limit applies to the whole lane, not only to this delivery.
      if (failure.retryAfterMs !== undefined) this.#pausedUntil = nextAt;
      store.transaction(() => {
        store.reschedule(delivery.id, nextAt, failure.message);
        handler.failed?.(delivery, failure, false);
      });
      this.o.onOutcome?.(this.lane, delivery.kind, 'retry', elapsed);
      log.warn({ ...context, error: failure.message, retryInMs: delay }, 'delivery will be retried');
    }
  }

  /** Exponential backoff with "equal jitter": half fixed, half random. */
  #backoff(attempts: number): number {
    const ceiling = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(attempts, 30));
    return Math.round(ceiling / 2 + (this.o.random() * ceiling) / 2);
  }
}
