import type { Logger } from 'pino';
import { gitlabStatus, shortSha, type Actor, type Check, type MergeRequestEvent, type Outcome } from './domain/check.js';
import { accountOf, sightingsOf, tallyApproval } from './domain/people.js';
import type { Authorization } from './domain/policy.js';
import { gitlabQuote, gitlabText } from './gitlab/markdown.js';
import { normaliseReason, planReceipt, refuseDecision, refuseMissingComment, type Refusal } from './domain/rules.js';
import type { AuditInput, Store } from './store/store.js';

/** What the GitLab lane delivers: exactly what was decided, fixed at decision time. */
export interface ReportPayload {
  projectId: number;
  mergeRequestIid: number;
  sha: string;
  statusCheckId: number;
  /** `pending` withdraws an earlier answer (the rule changed); GitLab 16.5 and later. */
  status: 'passed' | 'failed' | 'pending';
}

/** A comment for the merge request's author: a rejection's reason, an approval's comment. */
export interface NotePayload {
  projectId: number;
  mergeRequestIid: number;
  body: string;
}

export interface GateOptions {
  store: Store;
  clock: () => Date;
  log: Logger;
  /** The approval policy: which rule governs a check, and who may decide it. */
  authorization: Authorization;
  /** Called after new work was written to the outbox. */
  onWork: () => void;
  /** Told of every decision made or refused (metrics). */
  onDecision?: (outcome: Outcome | 'refused', actor: Actor) => void;
  /** `wait`: a draft merge request gets its card once it is marked ready. */
  draftCards: 'wait' | 'post';
}

export type Refused = { ok: false; code: Refusal['code'] | 'not_found' | 'already_counted'; message: string; check: Check | null };
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

  /** GitLab called the check. Idempotent: the same commit again changes nothing but details. */
  receive(event: MergeRequestEvent): { check: Check; created: boolean } {
    const { store, clock } = this.#o;
    const at = clock();
    const cardDue = !(event.draft && this.#o.draftCards === 'wait');
    const audit = (checkId: number, name: string, detail?: string) =>
      store.audit({ checkId, event: name, actor: event.triggeredBy, via: null, sha: event.sha, detail }, at);
    const result = store.transaction(() => {
      const known = store.checksOf(event.projectId, event.mergeRequestIid, event.statusCheckId);
      const plan = planReceipt(event, known);
      for (const { id, to } of plan.retire) {
        if (store.retire(id, to, at)) {
          this.#updateCard(id, at);
          audit(id, to, to === 'superseded' ? `superseded by ${shortSha(event.sha)}` : `merge request ${to}`);
        }
      }
      const same = known.find((c) => c.sha === event.sha);
      const rule = this.#o.authorization.ruleFor(event);
      if (plan.create || !same) {
        const id = store.insertCheck(event, plan.state, plan.previousSha, rule, at);
        if (plan.state === 'pending' && cardDue) store.enqueue(id, 'slack', 'post_card', null, at);
        audit(id, 'received', `state ${plan.state}${plan.late ? ' (a late call about an older commit)' : ''}; rule “${rule.name}”, ${rule.required} approval(s) needed`);
        return { id, created: true };
      }
      if (plan.late) return { id: same.id, created: false };
      store.refreshCheck(same.id, event, at);
      if (same.ruleName !== null && (same.ruleName !== rule.name || same.approvalsRequired !== rule.required)) {
        this.#regate(same, rule, cardDue, at);
      } else if (plan.reopen) {
        store.reopen(same.id, at);
        if (cardDue) store.enqueue(same.id, 'slack', 'post_card', null, at);
        audit(same.id, 'reopened');
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

  /**
   * A person approves or rejects. The request is written down first; `acknowledge` (Slack's
   * ack) is called only then, so an acknowledged click survives a crash and is settled by
   * `resume` after the restart. Refused unless the check is pending and the policy allows it.
   */
  decide(checkId: number, outcome: Outcome, actor: Actor, reason?: string | null, acknowledge?: () => Promise<void>): Promise<DecideResult> {
    // Tracked so shutdown waits for a decision that a person was already told about.
    const work = (async () => {
      if (!Number.isSafeInteger(checkId) || !this.#o.store.getCheck(checkId)) {
        await acknowledge?.();
        return this.#refused('not_found', `There is no check ${String(checkId)}.`, null, checkId, outcome, actor);
      }
      const kept = normaliseReason(reason);
      const requestId = this.#o.store.transaction(() => {
        this.#o.store.audit({ checkId, event: 'clicked', actor: actor.name, via: actor.via, detail: outcome }, this.#o.clock());
        return this.#o.store.takeRequest(checkId, outcome, actor, kept, this.#o.clock());
      });
      await acknowledge?.();
      return this.#settle(requestId, checkId, outcome, actor, kept);
    })();
    this.#track(work);
    return work;
  }

  /** Settles clicks that were acknowledged but not decided before the last stop. */
  async resume(): Promise<number> {
    // Cards Slack refused for good (a revoked token, a missing channel) get another try.
    const { store, clock } = this.#o;
    const retry = store.checksWithoutCard();
    if (retry.length) {
      store.transaction(() => retry.forEach((id) => store.enqueue(id, 'slack', 'post_card', null, clock())));
      this.#o.onWork();
    }
    const open = this.#o.store.openRequests();
    for (const r of open) {
      const work = this.#settle(r.id, r.checkId, r.outcome, r.actor, r.reason);
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
    const refuse = (code: Refused['code'], message: string, check: Check | null): DecideResult =>
      this.#refused(code, message, check, checkId, outcome, actor, requestId);

    const check = store.getCheck(checkId);
    if (!check) return refuse('not_found', `There is no check ${checkId}.`, null);
    const early = refuseDecision(check);
    if (early) return refuse(early.code, early.message, check);
    const uncommented = refuseMissingComment(this.#o.authorization.ruleFor(check), outcome, reason);
    if (uncommented) return refuse(uncommented.code, uncommented.message, check);
    const permit = await this.#o.authorization.permit(actor, check, outcome);
    if (!permit.ok) return refuse(permit.refusal.code, permit.refusal.message, check);

    const at = clock();
    const vote = store.transaction(() => {
      for (const seen of permit.seen) store.sighted(permit.account, seen, at);
      let decides = true;
      // Read again inside the transaction: the rule may have changed while the policy was asked.
      const required = store.getCheck(checkId)?.approvalsRequired ?? check.approvalsRequired;
      if (outcome === 'approve') {
        const prior = store.approvingAccounts(checkId, check.sha);
        const tally = tallyApproval(prior, permit.account, store.sightingsAround([...prior, permit.account]), required);
        if (tally === 'already_counted') return tally;
        decides = tally === 'decides';
      }
      const result = store.vote(checkId, { outcome, actor, account: permit.account, reason, decides }, at);
      if (result === 'not_pending') return result;
      store.settleRequest(requestId);
      const event: AuditInput = { checkId, event: '', actor: actor.name, via: actor.via, sha: check.sha, detail: reason };
      if (result === 'decided') {
        const report: ReportPayload = {
          projectId: check.projectId,
          mergeRequestIid: check.mergeRequestIid,
          sha: check.sha,
          statusCheckId: check.statusCheckId,
          status: gitlabStatus(outcome),
        };
        store.enqueue(checkId, 'gitlab', 'report', report, at);
        store.audit({ ...event, event: outcome === 'approve' ? 'approved' : 'rejected' }, at);
      } else {
        store.audit({ ...event, event: 'approval_counted', detail: `${check.approvals.length + 1} of ${check.approvalsRequired}${reason ? `: ${reason}` : ''}` }, at);
      }
      if (reason && (outcome === 'reject' || permit.rule.approveWithComment)) {
        const note: NotePayload = { projectId: check.projectId, mergeRequestIid: check.mergeRequestIid, body: noteBody(check, outcome, actor, reason) };
        store.enqueue(checkId, 'gitlab', 'note', note, at);
      }
      this.#updateCard(checkId, at);
      return result;
    });
    const now = store.getCheck(checkId) as Check;
    if (vote === 'already_counted') {
      return refuse('already_counted', `You approved ${where(check)} already; it needs ${check.approvalsRequired} approvals from different people.`, now);
    }
    if (vote === 'not_pending') {
      // Someone else was faster: say who.
      const late = refuseDecision(now) ?? { code: 'not_pending' as const, message: 'This check was decided already.' };
      return refuse(late.code, late.message, now);
    }
    this.#o.onWork();
    this.#o.onDecision?.(outcome, actor);
    log.info({ checkId, actor: actor.id, via: actor.via, outcome, sha: now.sha, counted: vote === 'counted' }, 'decision recorded');
    return { ok: true, check: now, counted: vote === 'counted' };
  }

  /** Records a refusal (audit, log, metrics) and settles the request it answers. */
  #refused(code: Refused['code'], message: string, check: Check | null, checkId: number, outcome: Outcome, actor: Actor, requestId?: number): Refused {
    const { store, clock, log } = this.#o;
    store.transaction(() => {
      store.audit({ checkId: check ? check.id : null, event: 'refused', actor: actor.name, via: actor.via, sha: check?.sha, detail: message }, clock());
      if (requestId !== undefined) store.settleRequest(requestId);
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
    const { store, authorization } = this.#o;
    const check = store.getCheck(checkId);
    if (!check) return { ok: false, code: 'not_found', message: `There is no check ${checkId}.`, check: null };
    const early = refuseDecision(check);
    if (early) return { ok: false, ...early, check };
    const rule = authorization.ruleFor(check);
    if (!(await authorization.isApprover(actor, rule))) {
      return { ok: false, code: 'not_allowed', message: `You are not one of the approvers for this check (rule “${rule.name}”), so nothing was recorded.`, check };
    }
    void authorization.permit(actor, check, outcome).catch(() => undefined);
    return { ok: true, check, counted: false };
  }

  /**
   * Someone signed in with GitLab: what identifies their account now is kept, so an e-mail it
   * showed then still links it to another account after the e-mail changed. Throws when the
   * database cannot be written.
   */
  sawGitLabAccount(person: { username: string; email: string | null; userId?: number | null }): void {
    const account = accountOf({ id: person.username, login: 'gitlab', gitlabUsername: person.username });
    const seen = sightingsOf({ email: person.email, gitlabUserId: person.userId ?? null });
    const at = this.#o.clock();
    if (seen.length) this.#o.store.transaction(() => seen.forEach((s) => this.#o.store.sighted(account, s, at)));
  }

  /** Whether the rule governing this check asks approvers for a comment. */
  wantsApprovalComment(checkId: number): boolean {
    const check = this.#o.store.getCheck(checkId);
    return check !== null && this.#o.authorization.ruleFor(check).approveWithComment;
  }

  /** What waits for a decision that this person may decide, newest first. */
  async pendingFor(actor: Actor, limit: number): Promise<{ checks: Check[]; total: number }> {
    const { authorization } = this.#o;
    const mine: Check[] = [];
    const verdicts = new Map<string, Promise<boolean>>();
    for (const check of this.#o.store.pendingChecks(1000)) {
      const rule = authorization.ruleFor(check);
      let verdict = verdicts.get(rule.name);
      if (!verdict) verdicts.set(rule.name, (verdict = authorization.isApprover(actor, rule)));
      if (await verdict) mine.push(check);
    }
    return { checks: mine.slice(0, limit), total: mine.length };
  }

  /** What the web list shows: everything pending, then the most recent others. */
  overview(recent: number): { pending: Check[]; recent: Check[] } {
    return { pending: this.#o.store.pendingChecks(1000), recent: this.#o.store.recentChecks(recent) };
  }

  check(id: number): Check | null {
    return this.#o.store.getCheck(id);
  }

  /** The audit trail of a time range, or of one check. */
  history(range: { from: Date; to: Date; checkId?: number; limit?: number }) {
    return this.#o.store.auditEvents({ limit: 100_000, ...range });
  }

  /**
   * Another rule now governs the check: its target branch changed, or the policy did. Votes
   * cast under the old rule stop counting. An approval is withdrawn, in GitLab too (the
   * commit goes back to pending), and a fresh card asks the new rule's approvers.
   */
  #regate(check: Check, rule: { name: string; required: number }, cardDue: boolean, at: Date): void {
    const { store } = this.#o;
    const state = store.regate(check.id, rule, at);
    const detail = `now governed by rule “${rule.name}” (${rule.required} approval(s) needed), was “${check.ruleName}”`;
    if (state === 'pending' && check.state !== 'pending') {
      const report: ReportPayload = {
        projectId: check.projectId,
        mergeRequestIid: check.mergeRequestIid,
        sha: check.sha,
        statusCheckId: check.statusCheckId,
        status: 'pending',
      };
      store.enqueue(check.id, 'gitlab', 'report', report, at);
      if (cardDue) store.enqueue(check.id, 'slack', 'post_card', null, at);
      store.audit({ checkId: check.id, event: 'approval_withdrawn', sha: check.sha, detail }, at);
    } else {
      this.#updateCard(check.id, at);
      store.audit({ checkId: check.id, event: 'rule_changed', sha: check.sha, detail }, at);
    }
  }

  /** A delivery changed the check (a report landed or was refused): show it on its card. */
  cardChanged(checkId: number): void {
    this.#updateCard(checkId, this.#o.clock());
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

/**
 * A note GitLab renders as Markdown. What people typed (their name, the reason) is quoted as
 * plain text: it mentions nobody, runs no quick action and forges no markup.
 */
function noteBody(check: Check, outcome: Outcome, actor: Actor, reason: string): string {
  const verb = outcome === 'approve' ? 'Approved' : 'Rejected';
  const via = actor.via === 'slack' ? 'in Slack' : 'on the approvals web list';
  return `**${verb}** by ${gitlabText(actor.name)} ${via} (status check “${gitlabText(check.statusCheckName)}”, commit ${shortSha(check.sha)}):\n\n${gitlabQuote(reason)}`;
}
