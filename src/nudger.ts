import type { Logger } from 'pino';
import type { Check } from './domain/check.js';
import type { NudgePayload } from './domain/effects.js';
import type { Rule } from './domain/policy.js';
import { planNudge } from './domain/lifecycle.js';
import type { AuditPort, CheckPort, LeasePort, NudgePort, OutboxPort, Transactions } from './ports.js';

export type { NudgePayload } from './domain/effects.js';

export interface NudgerOptions {
  store: Transactions &
    LeasePort &
    Pick<NudgePort, 'dueNudges' | 'holdNudge' | 'dropNudge' | 'moveNudge' | 'markEscalated'> &
    Pick<CheckPort, 'getCheck'> &
    Pick<OutboxPort, 'enqueue'> &
    Pick<AuditPort, 'audit'>;
  log: Logger;
  clock: () => Date;
  /** The rule as written (without escalation): its reminders and escalate_to. */
  ruleFor: (check: Check) => Rule;
  /** How often to look for due reminders, in real time. */
  pollMs?: number;
}

/**
 * Turns due reminders and escalations into outbox messages. Both are rows in the database, so a
 * restart neither loses nor doubles them: the row moves (or goes) in the same transaction that
 * queues the message. A check that is no longer pending gets nothing more.
 */
export class Nudger {
  readonly #o: NudgerOptions;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** The tick under way, so a stop waits for it before the database closes. */
  #running: Promise<void> = Promise.resolve();

  constructor(options: NudgerOptions) {
    this.#o = options;
  }

  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      try {
        await this.tick();
      } catch (error) {
        // A busy database: the next tick tries again, nothing was half-written.
        this.#o.log.warn({ error: (error as Error).message }, 'reminders could not be checked just now');
      }
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.#running = tick();
      }, this.#o.pollMs ?? 500);
      this.#timer.unref();
    };
    this.#running = tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /**
   * Sends what is due now; returns how many nudges were handled. On several replicas only the
   * one holding the lease does: the others skip (0) until it lapses.
   */
  async tick(): Promise<number> {
    const { store, clock, log } = this.#o;
    const now = clock();
    // A few polls long, and never under 30 s: a replica that dies hands over within that.
    const leaseMs = Math.max(30_000, 3 * (this.#o.pollMs ?? 500));
    if (!(await store.holdLease('nudger', leaseMs, now.getTime()))) return 0;
    const due = await store.dueNudges(now.getTime(), 100);
    let queued = 0;
    // What was queued before a write failed is still counted in the log: hence finally.
    try {
      for (const nudge of due) {
        const sent = await store.transaction(async () => {
          // A replica that held the lease before this one (and stalled past it) may have sent it.
          if (!(await store.holdNudge(nudge.id, nudge.dueAt))) return false;
          const check = await store.getCheck(nudge.checkId);
          const reminders = check ? this.#o.ruleFor(check).reminders : null;
          const plan = planNudge(nudge.kind, check, reminders, now.getTime());
          if (!plan.send || !check) {
            await store.dropNudge(nudge.id);
            return false;
          }
          const payload: NudgePayload = { waitedMs: Math.max(0, now.getTime() - check.receivedAt.getTime()) };
          await store.enqueue(check.id, { kind: nudge.kind, payload }, now);
          if (plan.escalate) {
            await store.markEscalated(check.id, now);
            await store.audit({ checkId: check.id, event: 'escalated', sha: check.sha, detail: describeEscalation(reminders?.escalateTo ?? null) }, now);
          } else {
            await store.audit({ checkId: check.id, event: 'reminded', sha: check.sha }, now);
          }
          if (plan.next === null) await store.dropNudge(nudge.id);
          else await store.moveNudge(nudge.id, plan.next);
          return true;
        });
        if (sent) queued += 1;
      }
    } finally {
      if (queued > 0) log.info({ count: queued }, 'reminders and escalations queued');
    }
    return due.length;
  }
}

function describeEscalation(to: { channel: string | null; slack: string[]; gitlab: string[] } | null): string {
  if (!to) return 'escalated';
  const who = [...to.slack, ...to.gitlab.map((u) => `@${u} (GitLab)`)].join(', ');
  return `told ${who || 'nobody in particular'}${to.channel ? ` in ${to.channel}` : ''}; they may decide it from now on`;
}
