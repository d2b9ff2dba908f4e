import type { Logger } from 'pino';
import type { EffectKind } from '../domain/effects.js';
import type { Lane } from '../domain/effects.js';
import { StoreUnavailable, type Delivery, type DeliveryQueue, type UnreadableDelivery } from '../ports.js';
import { DeliveryFailure } from './failure.js';
import type { DeliveryHandler } from './handlers.js';

export { DeliveryFailure } from './failure.js';
export type { DeliveryHandler, DeliveryHandlers } from './handlers.js';

/**
 * The longest a server's Retry-After is honoured. A rate limit of a day (seen from Slack)
 * would otherwise park every card for a day, and the wait is stored, so it outlives restarts.
 */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;
/** The longest an idle lane waits for its earliest due delivery before looking again. */
const MAX_IDLE_MS = 60_000;

const TAKEN_OVER = 'another replica took the delivery over (this one’s lease had ended): what this one learnt is not written';

/** Pauses of a lane while the database refuses writes: from 250 ms, doubling, up to 10 s. */
const STORE_PAUSE_MS = { first: 250, max: 10_000 };

/** Handlers for some kinds of effect; the composition root gives one for each (DeliveryHandlers). */
export type SomeHandlers<K extends EffectKind> = { [P in K]: DeliveryHandler<P> };

/** A handler as the worker calls it: for the kind of the delivery in hand. */
type AnyHandler = DeliveryHandler<EffectKind>;

export interface WorkerOptions<K extends EffectKind = EffectKind> {
  /** Only the outbox: what is due, and how its delivery went. */
  store: DeliveryQueue;
  log: Logger;
  handlers: SomeHandlers<K>;
  clock?: () => number;
  random?: () => number;
  /** First retry delay; doubles each attempt up to `maxDelayMs`, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Look at the outbox at least this often, even when told of no work (other processes may fill it). */
  pollMs?: number;
  /**
   * While a delivery's calls run, renew its lease this often (a third of the lease), so that a
   * slow delivery is not taken over and sent again by another replica. None: leases are not used.
   */
  leaseRenewalMs?: number;
  onOutcome?: (lane: Lane, kind: string, outcome: 'delivered' | 'retry' | 'failed', ms: number) => void;
}

/**
 * Sends what the outbox holds, one lane at a time (Slack, GitLab), so a GitLab outage does
 * not hold back cards and a Slack rate limit does not hold back reports. Retries with
 * exponential backoff and jitter, honours Retry-After, and resumes after a restart because
 * the outbox is in the database.
 */
export class DeliveryWorker<K extends EffectKind = EffectKind> {
  readonly #o: Options;
  readonly #lanes = new Map<Lane, LaneLoop>();
  #running = false;

  constructor(options: WorkerOptions<K>) {
    this.#o = { clock: Date.now, random: Math.random, ...options, handlers: options.handlers as Partial<Record<EffectKind, AnyHandler>> };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const lane of ['slack', 'gitlab'] as const) {
      const loop = new LaneLoop(lane, this.#o);
      this.#lanes.set(lane, loop);
      loop.run();
    }
  }

  /** New work was written on these lanes: look now rather than at the next timer. */
  kick(lanes: Iterable<Lane>): void {
    for (const lane of lanes) this.#lanes.get(lane)?.wake();
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

type Options = Required<Omit<WorkerOptions, 'onOutcome' | 'handlers' | 'pollMs' | 'leaseRenewalMs'>> &
  Pick<WorkerOptions, 'onOutcome' | 'pollMs' | 'leaseRenewalMs'> & { handlers: Partial<Record<EffectKind, AnyHandler>> };

/** A delivery the other side accepted, whose outcome the database has not taken yet. */
interface Unwritten {
  delivery: Delivery;
  apply: (() => Promise<void>) | void;
  started: number;
}

class LaneLoop {
  #stopped = false;
  /**
   * Kept in memory while writes fail, written before anything else on the lane: a card Slack
   * has posted must not be posted again because its timestamp could not be stored.
   */
  #unwritten: Unwritten[] = [];
  #storePauses = 0;
  #stopWake: (() => void) | null = null;
  #wake: (() => void) | null = null;
  /** Told of new work since the lane last looked: it looks again rather than sleep. */
  #kicked = false;
  #timer: NodeJS.Timeout | null = null;
  #pausedUntil = 0;
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly lane: Lane,
    readonly o: Options,
  ) {}

  run(): void {
    this.done = this.#loop();
  }

  wake(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  stop(): void {
    this.#stopped = true;
    this.wake();
    this.#stopWake?.();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        // GitLab's calls and people's clicks first: what arrived meanwhile is taken in before
        // the lane takes its next delivery (on SQLite, the lane's work between two network
        // calls runs in one go).
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.#writeUnwritten();
        const now = this.o.clock();
        // What was queued until now, this look finds.
        this.#kicked = false;
        const next = now >= this.#pausedUntil ? await this.o.store.nextDue(this.lane, now) : null;
        if (!next) {
          await this.#idle(now);
          continue;
        }
        // What the attempt queued on another lane (a report queues a card update) wakes that
        // lane through the outbox's own notice; this lane looks again at once.
        await this.#attempt(next);
        this.#storePauses = 0;
      } catch (error) {
        // The database refused (locked, full, gone) or failed otherwise: never let that end
        // the process. Nothing was lost: what was sent is kept in #unwritten, what was not
        // is still in the outbox. Pause the lane and try again.
        await this.#pauseForStore(error);
      }
    }
    try {
      await this.#writeUnwritten();
    } catch (error) {
      for (const { delivery } of this.#unwritten) {
        this.o.log.error(
          { deliveryId: delivery.id, checkId: delivery.checkId, kind: delivery.kind, error: (error as Error).message },
          'stopped with a delivery done but not written down: it will be sent again after the next start',
        );
      }
    }
  }

  async #pauseForStore(error: unknown): Promise<void> {
    const ms = Math.min(STORE_PAUSE_MS.max, STORE_PAUSE_MS.first * 2 ** Math.min(this.#storePauses, 10));
    this.#storePauses += 1;
    const context = { lane: this.lane, error: (error as Error).message, retryInMs: ms, unwritten: this.#unwritten.length };
    if (error instanceof StoreUnavailable) this.o.log.warn(context, 'the database refused a write: deliveries pause and resume when it takes writes again');
    else this.o.log.error(context, 'delivery lane failed: pausing before the next try');
    // Only a stop ends the pause early: a kick means new work, which cannot be written either.
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#stopWake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#stopWake = done;
    });
  }

  /** Writes what was delivered while the database refused; throws while it still does. */
  async #writeUnwritten(): Promise<void> {
    const { log } = this.o;
    while (this.#unwritten.length > 0) {
      const { delivery, apply, started } = this.#unwritten[0]!;
      let mine: boolean;
      try {
        mine = await this.#writeDelivered(delivery.id, apply);
      } catch (error) {
        if (error instanceof StoreUnavailable) throw error;
        // Not the database's availability: holding on would stall the lane for good.
        this.#unwritten.shift();
        const handler = this.o.handlers[delivery.kind];
        if (handler) await this.#failed(delivery, handler, error, started, { deliveryId: delivery.id, checkId: delivery.checkId, kind: delivery.kind });
        continue;
      }
      this.#unwritten.shift();
      this.#storePauses = 0;
      const context = { deliveryId: delivery.id, checkId: delivery.checkId, kind: delivery.kind };
      if (!mine) {
        log.warn(context, TAKEN_OVER);
        continue;
      }
      this.o.onOutcome?.(this.lane, delivery.kind, 'delivered', this.o.clock() - started);
      log.info(context, 'delivered; written down now that the database takes writes');
    }
  }

  /** Waits for a kick or for the earliest due delivery, whichever comes first. */
  async #idle(now: number): Promise<void> {
    const due = await this.o.store.earliestDue(this.lane);
    // Told of work while it looked (or while it asked when the next is due): look again now.
    if (this.#kicked) return;
    const until = Math.max(due ?? Infinity, this.#pausedUntil);
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      // Until the earliest due delivery, capped so a clock change cannot park the loop for long
      // (nothing due: only a kick or the poll wakes it); unref'd so it never holds the process.
      const dueInMs = Number.isFinite(until) ? Math.min(Math.max(until - now, 0), MAX_IDLE_MS) : Infinity;
      const waitMs = Math.min(dueInMs, this.o.pollMs ?? Infinity);
      if (Number.isFinite(waitMs)) {
        this.#timer = setTimeout(resolve, waitMs);
        this.#timer.unref();
      }
    });
    this.#wake = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #attempt(next: Delivery | UnreadableDelivery): Promise<void> {
    const { store, log, handlers } = this.o;
    const context = { deliveryId: next.id, checkId: next.checkId, kind: next.kind, attempt: next.attempts + 1 };
    if ('problem' in next) {
      if (await store.giveUp(next.id, next.problem)) log.error({ ...context, error: next.problem }, 'delivery cannot be read: given up');
      else log.warn(context, TAKEN_OVER);
      return;
    }
    const delivery = next;
    const handler = handlers[delivery.kind];
    const started = this.o.clock();
    if (!handler) {
      if (await store.giveUp(delivery.id, `no handler for ${delivery.kind}`)) log.error(context, 'delivery has no handler');
      else log.warn(context, TAKEN_OVER);
      return;
    }
    const notBefore = (await handler.notBefore?.(delivery, started)) ?? started;
    if (notBefore > started) {
      // Paced, not failed: no attempt counted, and the lane takes other work until then.
      if (await store.defer(delivery.id, notBefore)) log.debug({ ...context, waitMs: notBefore - started }, 'waiting for its slot');
      else log.warn(context, TAKEN_OVER);
      return;
    }
    let apply: (() => Promise<void>) | void;
    const stopRenewing = this.#keepLease(delivery.id, context);
    try {
      apply = await handler.deliver(delivery);
    } catch (error) {
      stopRenewing();
      await this.#failed(delivery, handler, error, started, context);
      return;
    }
    stopRenewing();
    let mine: boolean;
    try {
      mine = await this.#writeDelivered(delivery.id, apply);
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) {
        await this.#failed(delivery, handler, error, started, context);
        return;
      }
      // Sent, but not written down: keep it until the database takes writes, so it is not sent again.
      this.#unwritten.push({ delivery, apply, started });
      throw error;
    }
    if (!mine) {
      log.warn(context, TAKEN_OVER);
      return;
    }
    this.o.onOutcome?.(this.lane, delivery.kind, 'delivered', this.o.clock() - started);
    log.info(context, 'delivered');
  }

  /** Takes a sent delivery out of the outbox and writes what it learnt, in one transaction; false when another replica holds it. */
  #writeDelivered(id: number, apply: (() => Promise<void>) | void): Promise<boolean> {
    const { store } = this.o;
    return store.transaction(async () => {
      if (!(await store.delivered(id))) return false;
      await apply?.();
      return true;
    });
  }

  /**
   * Renews the delivery's lease while its calls run, one renewal at a time; returns what
   * stops it. Ends by itself once another replica has taken the delivery over.
   */
  #keepLease(id: number, context: Record<string, unknown>): () => void {
    const { leaseRenewalMs: every, store, log, clock } = this.o;
    if (every === undefined) return () => undefined;
    let stopped = false;
    let timer: NodeJS.Timeout;
    const next = () => {
      timer = setTimeout(() => {
        store.extendLease(id, clock()).then(
          (mine) => {
            if (stopped) return;
            if (mine) return next();
            log.warn(context, 'another replica took the delivery over while its calls ran');
          },
          (error: unknown) => {
            if (stopped) return;
            // The database is away: the lease may lapse, and another replica may send it again.
            log.warn({ ...context, error: error instanceof Error ? error.message : String(error) }, 'the lease of a delivery in progress could not be renewed');
            next();
          },
        );
      }, every);
      timer.unref();
    };
    next();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  async #failed(delivery: Delivery, handler: AnyHandler, error: unknown, started: number, context: Record<string, unknown>): Promise<void> {
    const { store, log } = this.o;
    const failure =
      error instanceof DeliveryFailure ? error : new DeliveryFailure(error instanceof Error ? error.message : String(error), false);
    const elapsed = this.o.clock() - started;
    if (failure.permanent) {
      const mine = await store.transaction(async () => {
        // Still this process's: what a replica that lost its lease learnt is not written.
        if (!(await store.giveUp(delivery.id, failure.message))) return false;
        await handler.failed?.(delivery, failure, true);
        return true;
      });
      if (!mine) {
        log.warn({ ...context, error: failure.message }, TAKEN_OVER);
        return;
      }
      this.o.onOutcome?.(this.lane, delivery.kind, 'failed', elapsed);
      log.error({ ...context, error: failure.message }, 'delivery failed for good');
      return;
    }
    let retryAfterMs = failure.retryAfterMs;
    if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) {
      log.warn(
        { ...context, retryAfterMs, cappedMs: MAX_RETRY_AFTER_MS },
        `asked to wait ${Math.round(retryAfterMs / 1000)}s before retrying: waiting ${MAX_RETRY_AFTER_MS / 1000}s, the longest the bot honours`,
      );
      retryAfterMs = MAX_RETRY_AFTER_MS;
    }
    const delay = retryAfterMs ?? this.#backoff(delivery.attempts);
    const nextAt = this.o.clock() + delay;
    // A rate limit applies to the whole lane, not only to this delivery.
    if (retryAfterMs !== undefined) this.#pausedUntil = nextAt;
    const mine = await store.transaction(async () => {
      if (!(await store.reschedule(delivery.id, nextAt, failure.message))) return false;
      await handler.failed?.(delivery, failure, false);
      return true;
    });
    if (!mine) {
      log.warn({ ...context, error: failure.message }, TAKEN_OVER);
      return;
    }
    this.o.onOutcome?.(this.lane, delivery.kind, 'retry', elapsed);
    log.warn({ ...context, error: failure.message, retryInMs: delay }, 'delivery will be retried');
  }

  /** Exponential backoff with "equal jitter": half fixed, half random. */
  #backoff(attempts: number): number {
    const ceiling = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(attempts, 30));
    return Math.round(ceiling / 2 + (this.o.random() * ceiling) / 2);
  }
}
