import type { Logger } from 'pino';
import { gitlabStatus, type Actor, type Check, type MergeRequestEvent, type Outcome } from './domain/check.js';
import { normaliseReason, planReceipt, refuseDecision, type Refusal } from './domain/rules.js';
import type { Store } from './store/store.js';

/** What the GitLab lane delivers: exactly what was decided, fixed at decision time. */
export interface ReportPayload {
  projectId: number;
  mergeRequestIid: number;
  sha: string;
  statusCheckId: number;
  status: 'passed' | 'failed';
}

export type Authorize = (actor: Actor, check: Check) => Promise<Refusal | null>;

export interface GateOptions {
  store: Store;
  clock: () => Date;
  log: Logger;
  /** May this person decide on this check? */
  authorize: Authorize;
  /** Called after new work was written to the outbox. */
  onWork: () => void;
  /** Told of every decision made or refused (metrics). */
  onDecision?: (outcome: Outcome | 'refused', actor: Actor) => void;
  /** `wait`: a draft merge request gets its card once it is marked ready. */
  draftCards: 'wait' | 'post';
}

export type DecideResult =
  | { ok: true; check: Check }
  | { ok: false; code: Refusal['code'] | 'not_found'; message: string; check: Check | null };

/**
 * The bot's use cases. Adapters (GitLab webhook, Slack, web list) call these; every state
 * change and the effects it causes are written in one transaction, then delivered by the
 * delivery worker.
 */
export class Gate {
  readonly #o: GateOptions;
  readonly #deciding = new Set<Promise<unknown>>();

  constructor(options: GateOptions) {
    this.#o = options;
  }

  /** GitLab called the check. Idempotent: the same commit again changes nothing but details. */
  receive(event: MergeRequestEvent): { check: Check; created: boolean } {
    const { store, clock } = this.#o;
    const at = clock();
    const cardDue = !(event.draft && this.#o.draftCards === 'wait');
    const result = store.transaction(() => {
      const known = store.checksOf(event.projectId, event.mergeRequestIid, event.statusCheckId);
      const plan = planReceipt(event, known);
      for (const { id, to } of plan.retire) {
        if (store.retire(id, to, at)) this.#updateCard(id, at);
      }
      const same = known.find((c) => c.sha === event.sha);
      if (plan.create || !same) {
        const id = store.insertCheck(event, plan.state, plan.previousSha, at);
        if (plan.state === 'pending' && cardDue) store.enqueue(id, 'slack', 'post_card', null, at);
        return { id, created: true };
      }
      store.refreshCheck(same.id, event, at);
      if (plan.reopen) {
        store.reopen(same.id, at);
        if (cardDue) store.enqueue(same.id, 'slack', 'post_card', null, at);
      } else if (plan.state === 'pending' && same.slackTs === null && cardDue && !store.hasPendingDelivery(same.id, 'post_card')) {
        // A draft became ready, or the first card could not be posted: post it now.
        store.enqueue(same.id, 'slack', 'post_card', null, at);
      } else if (same.title !== event.title || same.targetBranch !== event.targetBranch || same.draft !== event.draft) {
        this.#updateCard(same.id, at);
      }
      return { id: same.id, created: false };
    });
    this.#o.onWork();
    const check = store.getCheck(result.id) as Check;
    this.#o.log.info(
      { checkId: check.id, project: check.projectPath, mr: check.mergeRequestIid, sha: check.sha, state: check.state, created: result.created },
      'status check received',
    );
    return { check, created: result.created };
  }

  /** A person approves or rejects. Refused unless the check is pending and the person may decide. */
  decide(checkId: number, outcome: Outcome, actor: Actor, reason?: string | null): Promise<DecideResult> {
    // Tracked so shutdown waits for a decision that a person was already told about.
    const work = this.#decide(checkId, outcome, actor, reason);
    this.#deciding.add(work);
    void work.finally(() => this.#deciding.delete(work)).catch(() => undefined);
    return work;
  }

  /** Resolves when no decision is half-way (for shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#deciding]);
  }

  async #decide(checkId: number, outcome: Outcome, actor: Actor, reason?: string | null): Promise<DecideResult> {
    const { store, clock, log } = this.#o;
    const check = store.getCheck(checkId);
    if (!check) return { ok: false, code: 'not_found', message: `There is no check ${checkId}.`, check: null };
    const refusal = refuseDecision(check) ?? (await this.#o.authorize(actor, check));
    if (refusal) {
      log.info({ checkId, actor: actor.id, via: actor.via, outcome, refused: refusal.code }, 'decision refused');
      this.#o.onDecision?.('refused', actor);
      return { ok: false, ...refusal, check };
    }
    const at = clock();
    const kept = normaliseReason(reason);
    const won = store.transaction(() => {
      if (!store.decide(checkId, outcome, actor, kept, at)) return false;
      const report: ReportPayload = {
        projectId: check.projectId,
        mergeRequestIid: check.mergeRequestIid,
        sha: check.sha,
        statusCheckId: check.statusCheckId,
        status: gitlabStatus(outcome),
      };
      store.enqueue(checkId, 'gitlab', 'report', report, at);
      this.#updateCard(checkId, at);
      return true;
    });
    const now = store.getCheck(checkId) as Check;
    if (!won) {
      // Someone else was faster: say who.
      const late = refuseDecision(now) ?? { code: 'not_pending' as const, message: 'This check was decided already.' };
      log.info({ checkId, actor: actor.id, via: actor.via, outcome, refused: late.code }, 'decision refused');
      this.#o.onDecision?.('refused', actor);
      return { ok: false, ...late, check: now };
    }
    this.#o.onWork();
    this.#o.onDecision?.(outcome, actor);
    log.info({ checkId, actor: actor.id, via: actor.via, outcome, sha: now.sha }, 'decision recorded');
    return { ok: true, check: now };
  }

  /** Whether this person could decide on this check now (before asking them for a reason). */
  async precheck(checkId: number, actor: Actor): Promise<DecideResult> {
    const check = this.#o.store.getCheck(checkId);
    if (!check) return { ok: false, code: 'not_found', message: `There is no check ${checkId}.`, check: null };
    const refusal = refuseDecision(check) ?? (await this.#o.authorize(actor, check));
    return refusal ? { ok: false, ...refusal, check } : { ok: true, check };
  }

  /** What waits for a decision, newest first. */
  pending(limit: number): { checks: Check[]; total: number } {
    return { checks: this.#o.store.pendingChecks(limit), total: this.#o.store.countPending() };
  }

  /** What the web list shows: everything pending, then the most recent others. */
  overview(recent: number): { pending: Check[]; recent: Check[] } {
    return { pending: this.#o.store.pendingChecks(1000), recent: this.#o.store.recentChecks(recent) };
  }

  check(id: number): Check | null {
    return this.#o.store.getCheck(id);
  }

  /** Queue a card update when there is, or will be, a card to update. */
  #updateCard(checkId: number, at: Date): void {
    const { store } = this.#o;
    const check = store.getCheck(checkId);
    if (!check) return;
    if (check.slackTs !== null || store.hasPendingDelivery(checkId, 'post_card')) {
      store.enqueue(checkId, 'slack', 'update_card', null, at);
    }
  }
}
