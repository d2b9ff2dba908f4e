import type { Logger } from 'pino';
import { gitlabStatus, shortSha, type Actor, type Check, type MergeRequestEvent, type Outcome } from './domain/check.js';
import { frozenBy, frozenMessage, type Freeze } from './domain/freeze.js';
import { accountOf, sightingsOf, tallyApproval } from './domain/people.js';
import { breakGlassRule, type Authorization, type Rule } from './domain/policy.js';
import type { AuthorNoticePayload, BreakGlassNotice, HomeRefreshPayload, NotePayload, NoteTexts } from './domain/effects.js';
import { canReportAgain, cardDueNow, hasCard, planAfterVote, planKnownCommit, planRegate, planVote, reportOf } from './domain/lifecycle.js';
import { firstDue } from './domain/schedule.js';
import { normaliseReason, planReceipt, refuseDecision, refuseMissingComment, type Refusal } from './domain/rules.js';
import { StoreUnavailable, type AuditEvent, type AuditInput, type CheckCursor, type CheckFilter, type GatePorts } from './ports.js';

export type { AuthorNoticePayload, BreakGlassNotice, HomeRefreshPayload, NotePayload, ReportPayload } from './domain/effects.js';

/** How long after opening the Home tab a person's tab is kept current after decisions. */
const HOME_TAB_KEPT_MS = 12 * 60 * 60_000;
/** The most events one read of the audit trail returns at once (an export streams them all, batch by batch). */
const HISTORY_LIMIT = 100_000;
/** How many events an export reads at a time. */
const HISTORY_BATCH = 1000;
/** How many pending checks `pendingFor` reads at a time while it looks for a person's. */
const PENDING_PAGE = 100;

export interface GateOptions {
  store: GatePorts;
  clock: () => Date;
  log: Logger;
  /** The approval policy: which rule governs a check, and who may decide it. */
  authorization: Authorization;
  /** Told of every decision made or refused (metrics). */
  onDecision?: (outcome: Outcome | 'refused', actor: Actor) => void;
  /** `wait`: a draft merge request gets its card once it is marked ready. */
  draftCards: 'wait' | 'post';
  /** Tell a merge request's author of decisions (Slack direct message). */
  notifyAuthors?: boolean;
  /** What the notes on a merge request say, in GitLab's Markdown. */
  notes: NoteTexts;
}

export type Refused = {
  ok: false;
  code: Refusal['code'] | 'not_found' | 'already_counted' | 'frozen' | 'not_frozen' | 'reason_required' | 'rule_changed';
  message: string;
  check: Check | null;
};

export type DecideResult = { ok: true; check: Check; counted: boolean } | Refused;

const where = (check: Pick<Check, 'projectPath' | 'mergeRequestIid'>) => `${check.projectPath}!${check.mergeRequestIid}`;

/**
 * The bot's use cases. Adapters (GitLab webhook, Slack, web list) call these; every state
 * change, the effects it causes and its audit events are written in one transaction, then
 * delivered by the delivery worker.
 */
export class Gate {
  readonly #o: GateOptions;
  readonly #deciding = new Set<Promise<unknown>>();

  constructor(options: GateOptions) {
    this.#o = options;
  }

  /**
   * GitLab called the check (or a sweep found a call that never arrived: `reconciled`).
   * Idempotent: the same commit again changes nothing but details.
   */
  async receive(event: MergeRequestEvent, source: 'gitlab' | 'reconciled' = 'gitlab'): Promise<{ check: Check; created: boolean }> {
    const { store, clock } = this.#o;
    const at = clock();
    const cardDue = cardDueNow(event, this.#o.draftCards);
    const audit = (checkId: number, name: string, detail?: string) =>
      store.audit({ checkId, event: name, actor: event.triggeredBy, via: null, sha: event.sha, detail }, at);
    const result = await store.transaction(async () => {
      // Another replica receiving the same call waits here, so one check and one card are made.
      await store.lockMergeRequest(event.projectId, event.mergeRequestIid, event.statusCheckId);
      const known = await store.checksOf(event.projectId, event.mergeRequestIid, event.statusCheckId);
      const plan = planReceipt(event, known);
      for (const { id, to } of plan.retire) {
        if (await store.retire(id, to, at)) {
          await this.#updateCard(id, at);
          await audit(id, to, to === 'superseded' ? `superseded by ${shortSha(event.sha)}` : `merge request ${to}`);
        }
      }
      const same = known.find((c) => c.sha === event.sha);
      const rule = this.#o.authorization.ruleFor(event);
      if (plan.create || !same) {
        const check = await store.insertCheck(event, plan.state, plan.previousSha, rule, at);
        const { id } = check;
        if (plan.state === 'pending' && cardDue) {
          await store.enqueue(id, { kind: 'post_card', payload: null }, at);
          await this.#scheduleNudges(id, rule, at, { fresh: true });
        }
        await audit(id, 'received', `state ${plan.state}${plan.late ? ' (a late call about an older commit)' : ''}; rule “${rule.name}”, ${rule.required} approval(s) needed`);
        if (source === 'reconciled') await audit(id, 'reconciled', 'GitLab never called for this commit; found by the sweep');
        // Nothing above changes the check itself: it is returned as inserted.
        return { id, created: true, check };
      }
      if (plan.late) return { id: same.id, created: false };
      await store.refreshCheck(same.id, event, at);
      const next = planKnownCommit(same, event, plan, rule, { due: cardDue, queued: await store.hasPendingDelivery(same.id, 'post_card') });
      switch (next.step) {
        case 'regate':
          await this.#regate(same, rule, cardDue, at);
          break;
        case 'reopen':
          await store.reopen(same.id, at);
          if (cardDue) {
            await store.enqueue(same.id, { kind: 'post_card', payload: null }, at);
            await this.#scheduleNudges(same.id, rule, at);
          }
          await audit(same.id, 'reopened');
          break;
        case 'post_card':
          // A draft became ready, or the first card could not be posted: post it now.
          await store.enqueue(same.id, { kind: 'post_card', payload: null }, at);
          if ((await store.nudgesOf(same.id)).length === 0) await this.#scheduleNudges(same.id, rule, at);
          break;
        case 'update_card':
          await this.#updateCard(same.id, at);
          break;
        case 'nothing':
          break;
      }
      if (next.resend) await this.#reReport(same.id, 'the same commit was sent again', at);
      return { id: same.id, created: false };
    });
    const check = result.check ?? ((await store.getCheck(result.id)) as Check);
    this.#o.log.info(
      { checkId: check.id, project: check.projectPath, mr: check.mergeRequestIid, sha: check.sha, state: check.state, created: result.created },
      'status check received',
    );
    return { check, created: result.created };
  }

  /**
   * A person approves or rejects. The request is written down first; `acknowledge` (Slack's
   * ack) is called only then, so an acknowledged click survives a crash and is settled by
   * `resume` after the restart. Refused unless the check is pending and the policy allows it.
   */
  decide(checkId: number, outcome: Outcome, actor: Actor, reason?: string | null, acknowledge?: () => Promise<void>): Promise<DecideResult> {
    // Tracked so shutdown waits for a decision that a person was already told about.
    const work = (async () => {
      const check = Number.isSafeInteger(checkId) ? await this.#o.store.getCheck(checkId) : null;
      if (!check) {
        await acknowledge?.();
        return this.#refused('not_found', `There is no check ${String(checkId)}.`, null, checkId, outcome, actor);
      }
      const kept = normaliseReason(reason);
      // What the person can correct on the spot is refused before the acknowledgement, so a
      // form (Slack's modal) can show it next to the field. #settle asks again for every channel.
      const uncommented = refuseMissingComment(this.#o.authorization.ruleFor(check), outcome, kept);
      if (uncommented) return this.#refused(uncommented.code, uncommented.message, check, checkId, outcome, actor);
      const requestId = await this.#o.store.transaction(async () => {
        await this.#o.store.audit({ checkId, event: 'clicked', actor: actor.name, via: actor.via, detail: outcome }, this.#o.clock());
        return this.#o.store.takeRequest(checkId, outcome, actor, kept, this.#o.clock());
      });
      await acknowledge?.();
      try {
        return await this.#settle(requestId, checkId, outcome, actor, kept);
      } catch (error) {
        if (!(error instanceof StoreUnavailable)) throw error;
        // The click is written down, its decision is not: settle it once writes work again.
        this.#settleLater(requestId, checkId, outcome, actor, kept, 1);
        throw new StoreUnavailable(`${error.message} Your decision was taken in and will be recorded once the database takes writes again.`, true);
      }
    })();
    this.#track(work);
    return work;
  }

  /** Tries an open request again, from 1 s doubling up to 30 s; a stop leaves it to `resume`. */
  #settleLater(requestId: number, checkId: number, outcome: Outcome, actor: Actor, reason: string | null, attempt: number): void {
    const timer = setTimeout(() => {
      const work = this.#settle(requestId, checkId, outcome, actor, reason).catch((error: unknown) => {
        if (error instanceof StoreUnavailable) this.#settleLater(requestId, checkId, outcome, actor, reason, attempt + 1);
        else this.#o.log.error({ checkId, error: (error as Error).message }, 'a decision taken in could not be settled; it is settled at the next start');
      });
      this.#track(work);
    }, Math.min(30_000, 1000 * 2 ** (attempt - 1)));
    timer.unref();
  }

  /** Settles clicks that were acknowledged but not decided before the last stop. */
  async resume(): Promise<number> {
    // Cards Slack refused for good (a revoked token, a missing channel) get another try.
    const { store, clock } = this.#o;
    const retry = await store.checksWithoutCard();
    if (retry.length) {
      await store.transaction(async () => {
        for (const id of retry) await store.enqueue(id, { kind: 'post_card', payload: null }, clock());
      });
    }
    const open = await this.#o.store.openRequests();
    for (const r of open) {
      const work = r.breakGlass && r.reason ? this.#settleBreakGlass(r.id, r.checkId, r.actor, r.reason) : this.#settle(r.id, r.checkId, r.outcome, r.actor, r.reason);
      this.#track(work);
      await work;
    }
    if (open.length) this.#o.log.info({ count: open.length }, 'settled clicks taken in before the last stop');
    return open.length;
  }

  /** Resolves when no decision is half-way (for shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#deciding]);
  }

  #track(work: Promise<unknown>): void {
    this.#deciding.add(work);
    void work.finally(() => this.#deciding.delete(work)).catch(() => undefined);
  }

  async #settle(requestId: number, checkId: number, outcome: Outcome, actor: Actor, reason: string | null): Promise<DecideResult> {
    const { store, clock, log } = this.#o;
    const refuse = (code: Refused['code'], message: string, check: Check | null): Promise<DecideResult> =>
      this.#refused(code, message, check, checkId, outcome, actor, requestId);

    const check = await store.getCheck(checkId);
    if (!check) return refuse('not_found', `There is no check ${checkId}.`, null);
    const early = refuseDecision(check);
    if (early) return refuse(early.code, early.message, check);
    const frozen = outcome === 'approve' ? this.#frozen(check) : null;
    if (frozen) {
      // The card may predate the freeze: show it there, with the emergency button.
      await store.transaction(() => this.#updateCard(checkId, clock()));
      return refuse('frozen', frozen, check);
    }
    const uncommented = refuseMissingComment(this.#o.authorization.ruleFor(check), outcome, reason);
    if (uncommented) return refuse(uncommented.code, uncommented.message, check);
    const permit = await this.#o.authorization.permit(actor, check, outcome);
    if (!permit.ok) return refuse(permit.refusal.code, permit.refusal.message, check);

    const at = clock();
    const vote = await store.transaction(async () => {
      // The merge request's GitLab calls wait (a new commit, a new target branch, a new rule),
      // and so do simultaneous clicks on other replicas: the second finds the check decided.
      await store.lockMergeRequest(check.projectId, check.mergeRequestIid, check.statusCheckId);
      await store.lockCheck(checkId);
      // Read again inside the transaction: the rule, or the votes, may have changed while the policy was asked.
      const current = (await store.getCheck(checkId)) ?? check;
      // The person was allowed under the rule that governed the check then: not necessarily now.
      if (current.ruleName !== check.ruleName) return 'rule_changed' as const;
      for (const seen of permit.seen) await store.sighted(permit.account, seen, at);
      const prior = outcome === 'approve' ? await store.approvingAccounts(checkId, current.sha) : [];
      const around = outcome === 'approve' ? await store.sightingsAround([...prior, permit.account]) : [];
      const tally = planVote(outcome, () => tallyApproval(prior, permit.account, around, current.approvalsRequired));
      if (tally === 'already_counted') return tally;
      const result = await store.vote(checkId, { outcome, actor, account: permit.account, reason, decides: tally === 'decides' }, at);
      if (result === 'not_pending') return result;
      await store.settleRequest(requestId);
      const plan = planAfterVote(current, outcome, result, reason, permit.rule.approveWithComment);
      const event: AuditInput = { checkId, event: plan.audit, actor: actor.name, via: actor.via, sha: current.sha, detail: reason };
      if (plan.report) await store.enqueue(checkId, { kind: 'report', payload: plan.report }, at);
      if (plan.audit === 'approval_counted') {
        await store.audit({ ...event, detail: `${current.approvals.length + 1} of ${current.approvalsRequired}${reason ? `: ${reason}` : ''}` }, at);
      } else {
        await store.audit(event, at);
      }
      if (plan.note && reason) {
        const note: NotePayload = { projectId: current.projectId, mergeRequestIid: current.mergeRequestIid, body: this.#o.notes.decision(current, outcome, actor, reason) };
        await store.enqueue(checkId, { kind: 'note', payload: note }, at);
      }
      await this.#updateCard(checkId, at);
      await this.#followUp(checkId, plan.tellAuthor, at);
      return result;
    });
    const now = (await store.getCheck(checkId)) as Check;
    if (vote === 'rule_changed') return this.#ruleChanged(refuse, check, now);
    if (vote === 'already_counted') {
      return refuse('already_counted', `You approved ${where(check)} already; it needs ${check.approvalsRequired} approvals from different people.`, now);
    }
    if (vote === 'not_pending') {
      // Someone else was faster: say who.
      const late = refuseDecision(now) ?? { code: 'not_pending' as const, message: 'This check was decided already.' };
      return refuse(late.code, late.message, now);
    }
    this.#o.onDecision?.(outcome, actor);
    log.info({ checkId, actor: actor.id, via: actor.via, outcome, sha: now.sha, counted: vote === 'counted' }, 'decision recorded');
    return { ok: true, check: now, counted: vote === 'counted' };
  }

  /** Records a refusal (audit, log, metrics) and settles the request it answers. */
  async #refused(code: Refused['code'], message: string, check: Check | null, checkId: number, outcome: Outcome, actor: Actor, requestId?: number): Promise<Refused> {
    const { store, clock, log } = this.#o;
    await store.transaction(async () => {
      await store.audit({ checkId: check ? check.id : null, event: 'refused', actor: actor.name, via: actor.via, sha: check?.sha, detail: message }, clock());
      if (requestId !== undefined) await store.settleRequest(requestId);
    });
    log.info({ checkId, actor: actor.id, via: actor.via, outcome, refused: code }, 'decision refused');
    this.#o.onDecision?.('refused', actor);
    return { ok: false, code, message, check };
  }

  /**
   * A quick answer before asking someone for a reason or comment: is the check open, and is
   * this person one of its approvers? Slack gives 3 seconds to open a modal, so the slower
   * tests (four eyes) run when the modal is submitted; their look-ups start now.
   */
  async precheck(checkId: number, actor: Actor, outcome: Outcome): Promise<DecideResult> {
    const { authorization } = this.#o;
    const open = await this.openCheck(checkId);
    if (!open.ok) return open;
    const check = open.check;
    const frozen = outcome === 'approve' ? this.#frozen(check) : null;
    if (frozen) return { ok: false, code: 'frozen', message: frozen, check };
    const rule = authorization.ruleFor(check);
    if (!(await authorization.isApprover(actor, rule))) {
      return { ok: false, code: 'not_allowed', message: `You are not one of the approvers for this check (rule “${rule.name}”), so nothing was recorded.`, check };
    }
    void authorization.permit(actor, check, outcome).catch(() => undefined);
    return { ok: true, check, counted: false };
  }

  /**
   * Whether the check exists and still waits for a decision, from the database alone: no
   * look-ups, so it fits before a modal is opened within Slack's 3 seconds.
   */
  async openCheck(checkId: number): Promise<DecideResult> {
    const check = Number.isSafeInteger(checkId) ? await this.#o.store.getCheck(checkId) : null;
    if (!check) return { ok: false, code: 'not_found', message: `There is no check ${String(checkId)}.`, check: null };
    const early = refuseDecision(check);
    if (early) return { ok: false, ...early, check };
    return { ok: true, check, counted: false };
  }

  /** The freeze that holds this check's approvals now, or null. */
  freezeOf(check: Check): Freeze | null {
    return frozenBy(this.#o.authorization.ruleFor(check).freezes, this.#o.clock().getTime());
  }

  /** The freeze holding this check now, and whether its rule names anyone who may break glass. */
  frozenNow(check: Check): { reason: string; breakGlass: boolean } | null {
    const freeze = this.freezeOf(check);
    return freeze && { reason: freeze.reason, breakGlass: breakGlassRule(this.#o.authorization.ruleFor(check)) !== null };
  }

  /** Why an approval of this check is refused now (a freeze), or null. */
  #frozen(check: Check): string | null {
    const freeze = this.freezeOf(check);
    if (!freeze) return null;
    const rule = this.#o.authorization.ruleFor(check);
    return frozenMessage(where(check), rule.name, freeze, breakGlassRule(rule) !== null);
  }

  /**
   * Before asking for an emergency approval's reason: is the check frozen, and is this person
   * in break_glass? The full tests run when the reason is submitted.
   */
  async emergencyPrecheck(checkId: number, actor: Actor): Promise<DecideResult> {
    const { store, authorization } = this.#o;
    const check = await store.getCheck(checkId);
    if (!check) return { ok: false, code: 'not_found', message: `There is no check ${checkId}.`, check: null };
    const early = refuseDecision(check);
    if (early) return { ok: false, ...early, check };
    if (!this.freezeOf(check)) return { ok: false, code: 'not_frozen', message: `${where(check)} is not frozen now: approve it with Approve. Nothing was recorded.`, check };
    const governing = authorization.ruleFor(check);
    const rule = breakGlassRule(governing);
    if (!rule) return { ok: false, code: 'not_allowed', message: `Rule “${governing.name}” names nobody in break_glass, so there is no emergency approval during this freeze. Nothing was recorded.`, check };
    if (!(await authorization.isApprover(actor, rule))) {
      return { ok: false, code: 'not_allowed', message: 'You are not named in break_glass for this check’s rule, so you cannot approve during the freeze. Nothing was recorded.', check };
    }
    return { ok: true, check, counted: false };
  }

  /**
   * Break glass: someone named in the rule's break_glass approves during a freeze, with a
   * reason. It decides the check alone (four eyes still holds), is audited as `break_glass`,
   * the reason goes on the merge request, and the escalation channel is told.
   */
  emergencyApprove(checkId: number, actor: Actor, reason: string | null, acknowledge?: () => Promise<void>): Promise<DecideResult> {
    const work = (async (): Promise<DecideResult> => {
      const { store, clock } = this.#o;
      const check = Number.isSafeInteger(checkId) ? await store.getCheck(checkId) : null;
      if (!check) {
        await acknowledge?.();
        return this.#refused('not_found', `There is no check ${String(checkId)}.`, null, checkId, 'approve', actor);
      }
      const kept = normaliseReason(reason);
      // Refused before the acknowledgement, so the form can show it next to the field.
      if (!kept) return this.#refused('reason_required', 'An emergency approval needs a reason: it is posted on the merge request and kept in the audit trail. Nothing was recorded.', check, checkId, 'approve', actor);
      const requestId = await store.transaction(async () => {
        await store.audit({ checkId, event: 'clicked', actor: actor.name, via: actor.via, detail: 'emergency approve' }, clock());
        return store.takeRequest(checkId, 'approve', actor, kept, clock(), true);
      });
      await acknowledge?.();
      try {
        return await this.#settleBreakGlass(requestId, checkId, actor, kept);
      } catch (error) {
        if (!(error instanceof StoreUnavailable)) throw error;
        // Taken in, not yet decided: settled once writes work again, as any click is.
        this.#settleBreakGlassLater(requestId, checkId, actor, kept, 1);
        throw new StoreUnavailable(`${error.message} Your emergency approval was taken in and will be recorded once the database takes writes again.`, true);
      }
    })();
    this.#track(work);
    return work;
  }

  /** Tries an open emergency approval again, as #settleLater does for any click. */
  #settleBreakGlassLater(requestId: number, checkId: number, actor: Actor, reason: string, attempt: number): void {
    const timer = setTimeout(() => {
      const work = this.#settleBreakGlass(requestId, checkId, actor, reason).catch((error: unknown) => {
        if (error instanceof StoreUnavailable) this.#settleBreakGlassLater(requestId, checkId, actor, reason, attempt + 1);
        else this.#o.log.error({ checkId, error: (error as Error).message }, 'an emergency approval taken in could not be settled; it is settled at the next start');
      });
      this.#track(work);
    }, Math.min(30_000, 1000 * 2 ** (attempt - 1)));
    timer.unref();
  }

  /** The rule changed between the policy's permit and the vote: nothing recorded, decide again. */
  #ruleChanged(refuse: (code: Refused['code'], message: string, check: Check | null) => Promise<DecideResult>, check: Check, now: Check): Promise<DecideResult> {
    return refuse('rule_changed', `The rule for ${where(check)} changed while your decision was checked (it is “${now.ruleName ?? 'default'}” now): look at the card again and decide under the new rule. Nothing was recorded.`, now);
  }

  async #settleBreakGlass(requestId: number, checkId: number, actor: Actor, kept: string): Promise<DecideResult> {
    const { store, clock, log, authorization } = this.#o;
    const refuse = (code: Refused['code'], message: string, check: Check | null) => this.#refused(code, message, check, checkId, 'approve', actor, requestId);
    const check = await store.getCheck(checkId);
    if (!check) return refuse('not_found', `There is no check ${String(checkId)}.`, null);
    const early = refuseDecision(check);
    if (early) return refuse(early.code, early.message, check);
    const freeze = this.freezeOf(check);
    if (!freeze) return refuse('not_frozen', `${where(check)} is not frozen now: approve it with Approve. Nothing was recorded.`, check);
    const permit = await authorization.permit(actor, check, 'approve', 'break_glass');
    if (!permit.ok) return refuse(permit.refusal.code, permit.refusal.message, check);
    const rule = authorization.ruleFor(check);
    const at = clock();
    const vote = await store.transaction(async () => {
      // The merge request's GitLab calls wait, and so do simultaneous clicks on other replicas.
      await store.lockMergeRequest(check.projectId, check.mergeRequestIid, check.statusCheckId);
      await store.lockCheck(checkId);
      const current = (await store.getCheck(checkId)) ?? check;
      // Allowed to break glass under the rule that governed the check then: not necessarily now.
      if (current.ruleName !== check.ruleName) return 'rule_changed' as const;
      for (const seen of permit.seen) await store.sighted(permit.account, seen, at);
      const result = await store.vote(checkId, { outcome: 'approve', actor, account: permit.account, reason: kept, decides: true }, at);
      if (result !== 'decided') return result;
      await store.settleRequest(requestId);
      await store.enqueue(checkId, { kind: 'report', payload: reportOf(current, 'passed') }, at);
      await store.audit({ checkId, event: 'break_glass', actor: actor.name, via: actor.via, sha: current.sha, detail: `during the freeze “${freeze.reason}”: ${kept}` }, at);
      const note: NotePayload = { projectId: current.projectId, mergeRequestIid: current.mergeRequestIid, body: this.#o.notes.breakGlass(current, actor, freeze.reason, kept) };
      await store.enqueue(checkId, { kind: 'note', payload: note }, at);
      const channel = rule.reminders?.escalateTo?.channel;
      if (channel) {
        const notice: BreakGlassNotice = { channel, freeze: freeze.reason, by: actor.id, via: actor.via, reason: kept };
        await store.enqueue(checkId, { kind: 'break_glass_notice', payload: notice }, at);
      }
      await this.#updateCard(checkId, at);
      await this.#followUp(checkId, 'approved', at);
      return result;
    });
    const now = (await store.getCheck(checkId)) as Check;
    if (vote === 'rule_changed') return this.#ruleChanged(refuse, check, now);
    if (vote !== 'decided') {
      const late = refuseDecision(now) ?? { code: 'not_pending' as const, message: 'This check was decided already.' };
      return refuse(late.code, late.message, now);
    }
    this.#o.onDecision?.('approve', actor);
    log.warn({ checkId, actor: actor.id, via: actor.via, freeze: freeze.reason, sha: now.sha }, 'emergency approval during a freeze');
    return { ok: true, check: now, counted: false };
  }

  /**
   * Someone signed in with GitLab: what identifies their account now is kept, so an e-mail it
   * showed then still links it to another account after the e-mail changed. Throws when the
   * database cannot be written.
   */
  async sawGitLabAccount(person: { username: string; email: string | null; userId?: number | null }): Promise<void> {
    const account = accountOf({ id: person.username, login: 'gitlab', gitlabUsername: person.username });
    const seen = sightingsOf({ email: person.email, gitlabUserId: person.userId ?? null });
    const at = this.#o.clock();
    if (!seen.length) return;
    await this.#o.store.transaction(async () => {
      for (const s of seen) await this.#o.store.sighted(account, s, at);
    });
  }

  /** Whether the rule governing this check asks approvers for a comment. */
  async wantsApprovalComment(checkId: number): Promise<boolean> {
    const check = await this.#o.store.getCheck(checkId);
    return check !== null && this.wantsComment(check);
  }

  /** The same, for a check in hand (a page drawing many). */
  wantsComment(check: Check): boolean {
    return this.#o.authorization.ruleFor(check).approveWithComment;
  }

  /**
   * What waits for a decision that this person may decide, newest first: pages through the
   * pending checks until `limit` are found, and counts the rest by rule without reading them.
   */
  async pendingFor(actor: Actor, limit: number): Promise<{ checks: Check[]; total: number }> {
    const { authorization, store } = this.#o;
    const verdicts = new Map<string, Promise<boolean>>();
    const mayDecide = (check: Pick<Check, 'projectPath' | 'targetBranch' | 'escalatedAt'>): Promise<boolean> => {
      const rule = authorization.ruleFor(check);
      // An escalated check has more approvers than its rule's other checks.
      const key = `${rule.name}${check.escalatedAt ? ' (escalated)' : ''}`;
      let verdict = verdicts.get(key);
      if (!verdict) verdicts.set(key, (verdict = authorization.isApprover(actor, rule)));
      return verdict;
    };
    let total = 0;
    for (const group of await store.pendingByRule()) {
      const escalatedAt = group.escalated ? new Date(0) : null;
      if (await mayDecide({ projectPath: group.projectPath, targetBranch: group.targetBranch, escalatedAt })) total += group.count;
    }
    const mine: Check[] = [];
    let after: CheckCursor | null = null;
    while (mine.length < Math.min(limit, total)) {
      const page = await store.pageOfChecks({ states: ['pending'], q: null, limit: PENDING_PAGE, after });
      for (const check of page.checks) if (mine.length < limit && (await mayDecide(check))) mine.push(check);
      if (!page.next) break;
      after = page.next;
    }
    return { checks: mine, total };
  }

  check(id: number): Promise<Check | null> {
    return this.#o.store.getCheck(id);
  }

  /** One page of the web list, and how many checks match the filter in all. */
  async listChecks(filter: CheckFilter) {
    // One after the other: side by side, each list view would hold two of PostgreSQL's pooled connections.
    return { ...(await this.#o.store.pageOfChecks(filter)), total: await this.#o.store.countChecks(filter) };
  }

  /** Changes whenever a check is added or changes, for an open web list to refresh. */
  changeMark(): Promise<string> {
    return this.#o.store.changeMark();
  }

  /** The audit trail of a time range, or of one check. */
  history(range: { from: Date; to: Date; checkId?: number; limit?: number }) {
    return this.#o.store.auditEvents({ limit: HISTORY_LIMIT, ...range });
  }

  /**
   * Every event of the range, batch by batch as the caller asks for the next (no cap, unlike
   * `history`): an export of any size holds one batch in memory, and no statement open
   * between batches.
   */
  async *historyBatches(range: { from: Date; to: Date; checkId?: number }, size = HISTORY_BATCH): AsyncGenerator<AuditEvent[]> {
    let after: { at: Date; id: number } | undefined;
    for (;;) {
      const batch = await this.#o.store.auditEvents({ ...range, after, limit: size });
      if (batch.length === 0) return;
      yield batch;
      const last = batch[batch.length - 1]!;
      after = { at: last.at, id: last.id };
    }
  }

  /**
   * Another rule now governs the check: its target branch changed, or the policy did. Votes
   * cast under the old rule stop counting. An approval is withdrawn, in GitLab too (the
   * commit is reported failed, with a note saying why), and a fresh card asks the new
   * rule's approvers.
   */
  async #regate(check: Check, rule: Rule, cardDue: boolean, at: Date): Promise<void> {
    const { store } = this.#o;
    const plan = planRegate(check);
    await store.regate(check.id, rule, plan.withdraw, at);
    const detail = `now governed by rule “${rule.name}” (${rule.required} approval(s) needed), was “${check.ruleName}”`;
    if (plan.withdraw) {
      await store.enqueue(check.id, { kind: 'report', payload: reportOf(check, 'failed', true) }, at);
      const note: NotePayload = { projectId: check.projectId, mergeRequestIid: check.mergeRequestIid, body: this.#o.notes.withdrawal(check, rule) };
      await store.enqueue(check.id, { kind: 'note', payload: note }, at);
      if (cardDue) {
        await store.enqueue(check.id, { kind: 'post_card', payload: null }, at);
        await this.#scheduleNudges(check.id, rule, at);
      }
      await store.audit({ checkId: check.id, event: 'approval_withdrawn', sha: check.sha, detail }, at);
      await this.#followUp(check.id, 'regated', at);
    } else {
      await this.#updateCard(check.id, at);
      await store.audit({ checkId: check.id, event: 'rule_changed', sha: check.sha, detail }, at);
    }
  }

  /**
   * Reports a decision again that GitLab refused for good (401, 403, a 5xx given up): a token
   * that works again heals it without a click. False when there is nothing to resend.
   */
  async reReport(checkId: number, why: string): Promise<boolean> {
    return this.#o.store.transaction(() => this.#reReport(checkId, why, this.#o.clock()));
  }

  async #reReport(checkId: number, why: string, at: Date): Promise<boolean> {
    const { store } = this.#o;
    const check = await store.getCheck(checkId);
    if (!check || !canReportAgain(check)) return false;
    if (await store.hasPendingDelivery(checkId, 'report')) return false;
    const report = reportOf(check, gitlabStatus(check.state === 'approved' ? 'approve' : 'reject'));
    await store.setReport(checkId, 'sending', null, at);
    await store.enqueue(checkId, { kind: 'report', payload: report }, at);
    await store.audit({ checkId, event: 'report_resent', sha: check.sha, detail: `${report.status}: ${why}` }, at);
    await this.#updateCard(checkId, at);
    return true;
  }

  /**
   * The rule's first reminder and its escalation, counted from now (in working time when set).
   * A check waiting anew forgets its escalation; a `fresh` one (just made) has none.
   */
  async #scheduleNudges(checkId: number, rule: Rule, at: Date, { fresh = false } = {}): Promise<void> {
    if (!fresh) await this.#o.store.clearEscalation(checkId);
    if (!rule.reminders) return;
    for (const kind of ['remind', 'escalate'] as const) {
      const due = firstDue(kind, at.getTime(), rule.reminders);
      if (due !== null) await this.#o.store.scheduleNudge(checkId, kind, due);
    }
  }

  /** A delivery changed the check (a report landed or was refused): show it on its card. */
  cardChanged(checkId: number): Promise<void> {
    return this.#updateCard(checkId, this.#o.clock());
  }

  /** GitLab refused a decision's report for good: its author hears of it. */
  reportRefused(checkId: number): Promise<void> {
    return this.#followUp(checkId, 'report_refused', this.#o.clock());
  }

  /** Someone opened the app's Home tab in Slack: keep it current after decisions. */
  homeOpened(userId: string): Promise<void> {
    return this.#o.store.homeOpened(userId, this.#o.clock());
  }

  /** One person's most recent votes, newest first. */
  decisionsBy(actor: Pick<Actor, 'via' | 'id'>, limit: number) {
    return this.#o.store.decisionsBy(actor.via, actor.id, limit);
  }

  /** Checks waiting on others whose newest commit this e-mail wrote, oldest first. */
  pendingAuthoredBy(email: string, limit: number): Promise<Check[]> {
    return this.#o.store.pendingAuthoredBy(email, limit);
  }

  /**
   * What follows a decision, written with it: a word to the author (when the check was
   * decided, re-gated, or its report refused) and open Home tabs drawn again.
   */
  async #followUp(checkId: number, about: AuthorNoticePayload['about'] | null, at: Date): Promise<void> {
    const { store } = this.#o;
    if (about && this.#o.notifyAuthors) await store.enqueue(checkId, { kind: 'notify_author', payload: { about } satisfies AuthorNoticePayload }, at);
    for (const userId of await store.homeViewers(new Date(at.getTime() - HOME_TAB_KEPT_MS))) {
      await store.enqueue(checkId, { kind: 'refresh_home', payload: { userId } satisfies HomeRefreshPayload }, at);
    }
  }

  /** Queue a card update when there is, or will be, a card to update. */
  async #updateCard(checkId: number, at: Date): Promise<void> {
    const { store } = this.#o;
    const check = await store.getCheck(checkId);
    if (!check) return;
    if (hasCard(check, await store.hasPendingDelivery(checkId, 'post_card'))) {
      await store.enqueue(checkId, { kind: 'update_card', payload: null }, at);
    }
  }
}
