import type { Actor, Check, CheckState, MergeRequestEvent, Outcome, ReportState, Via } from './domain/check.js';
import type { Effect, EffectKind, EffectPayloads, Lane } from './domain/effects.js';
import type { Nudge } from './domain/schedule.js';

/**
 * What the bot's parts need from storage, in the domain's terms: the shapes they read and
 * write, and the one error every write may raise. A store implements these; callers depend
 * on them, never on the store itself.
 */

/** An effect to deliver outside the process, written in the same transaction as its cause. */
export interface DeliveryOf<K extends EffectKind> {
  id: number;
  checkId: number;
  lane: Lane;
  kind: K;
  payload: EffectPayloads[K];
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  state: 'pending' | 'failed';
}
export type Delivery = { [K in EffectKind]: DeliveryOf<K> }[EffectKind];

/** An outbox row this build cannot read (an unknown kind, a payload that does not fit): given up, not guessed at. */
export interface UnreadableDelivery {
  id: number;
  checkId: number;
  lane: Lane;
  kind: string;
  problem: string;
  attempts: number;
}

export interface AuditInput {
  checkId: number | null;
  event: string;
  actor?: string | null;
  via?: Via | null;
  sha?: string | null;
  /** Why, in words: a refusal's reason, GitLab's answer, a rejection's reason. */
  detail?: string | null;
}

export interface AuditEvent {
  id: number;
  at: Date;
  checkId: number | null;
  event: string;
  actor: string | null;
  via: string | null;
  sha: string | null;
  detail: string | null;
}

/** Which checks a page of the web list shows. `states` null: every state. */
export interface CheckFilter {
  states: readonly CheckState[] | null;
  /** Text to find (project, merge request, title, branch, author); null: everything. */
  q: string | null;
  after: CheckCursor | null;
  limit: number;
}

/** Where the previous page ended: its last check, and when that changed (null for pending by number). */
export interface CheckCursor {
  id: number;
  updatedAt: string | null;
}

export interface DeliveryStats {
  pending: number;
  failed: number;
  /** Age in ms of the oldest pending delivery, 0 when none waits. */
  oldestPendingMs: number;
}

/**
 * The database cannot take writes right now: another process holds its write lock, the disk is
 * full, or the file is gone. Nothing of the failed write landed; try again later.
 */
export class StoreUnavailable extends Error {
  /** A `code` of its own, so Bolt passes it on as it is rather than wrapping it. */
  readonly code = 'store_unavailable';
  constructor(
    message: string,
    /** The work was taken in and will be finished once writes work again (not "nothing recorded"). */
    readonly kept = false,
  ) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}


// --- the ports: what each caller needs, and nothing more ------------------------------------

/** Runs work as one write transaction: all of it lands, or none (StoreUnavailable when writes fail). */
export interface Transactions {
  transaction<T>(work: () => T): T;
}

/** Checks, the votes on them, and clicks taken in but not yet decided. */
export interface CheckPort {
  getCheck(id: number): Check | null;
  checksOf(projectId: number, mergeRequestIid: number, statusCheckId: number): Check[];
  insertCheck(event: MergeRequestEvent, state: CheckState, previousSha: string | null, rule: { name: string; required: number }, at: Date): number;
  refreshCheck(id: number, event: MergeRequestEvent, at: Date): void;
  retire(id: number, to: CheckState, at: Date): boolean;
  reopen(id: number, at: Date): void;
  vote(id: number, vote: { outcome: Outcome; actor: Actor; account: string; reason: string | null; decides: boolean }, at: Date): 'decided' | 'counted' | 'not_pending';
  approvingAccounts(checkId: number, sha: string): string[];
  regate(id: number, rule: { name: string; required: number }, reopen: boolean, at: Date): void;
  checksWithoutCard(): number[];
  setReport(id: number, report: ReportState, error: string | null, at: Date): void;
  markStale(id: number, error: string, at: Date): void;
  setCard(id: number, channel: string, ts: string, at: Date): void;
  setCardError(id: number, error: string | null, at: Date): void;
  pendingChecks(limit: number): Check[];
  pendingByRule(): Array<{ projectPath: string; targetBranch: string; escalated: boolean; count: number }>;
  countPending(): number;
  pageOfChecks(filter: CheckFilter): { checks: Check[]; next: CheckCursor | null };
  countChecks(filter: Omit<CheckFilter, 'after' | 'limit'>): number;
  changeMark(): string;
  decisionsBy(via: Via, actorId: string, limit: number): Array<{ check: Check; outcome: Outcome; decidedAt: Date }>;
  pendingAuthoredBy(email: string, limit: number): Check[];
  /** `breakGlass`: an emergency approval during a freeze, settled as one after a restart. */
  takeRequest(checkId: number, outcome: Outcome, actor: Actor, reason: string | null, at: Date, breakGlass?: boolean): number;
  settleRequest(id: number): void;
  openRequests(): Array<{ id: number; checkId: number; outcome: Outcome; actor: Actor; reason: string | null; breakGlass: boolean }>;
}

/** What the reconciler compares with GitLab's view. */
export interface ReconcilePort {
  knownProjects(): number[];
  statusCheckIdsSeen(projectId: number): number[];
  checksOfMergeRequest(projectId: number, mergeRequestIid: number): Check[];
  mergeRequestsWaiting(projectId: number): number[];
}

/** Reminders and escalations, durable across restarts. */
export interface NudgePort {
  scheduleNudge(checkId: number, kind: Nudge, dueAt: number): void;
  dueNudges(nowMs: number, limit: number): Array<{ id: number; checkId: number; kind: Nudge; dueAt: number }>;
  nudgesOf(checkId: number): Array<{ kind: Nudge; dueAt: number }>;
  moveNudge(id: number, dueAt: number): void;
  dropNudge(id: number): void;
  clearEscalation(checkId: number): void;
  markEscalated(checkId: number, at: Date): void;
}

/** Which audit events to read: a time range, of one check or all, after a given event. */
export interface AuditRange {
  from: Date;
  to: Date;
  checkId?: number;
  after?: { at: Date; id: number };
  limit: number;
}

/** The append-only audit trail. */
export interface AuditPort {
  audit(event: AuditInput, at: Date): void;
  auditEvents(range: AuditRange): AuditEvent[];
}

/** People: what identifies their accounts, and whose Slack Home tab is open. */
export interface PeoplePort {
  sighted(account: string, seen: string, at: Date): void;
  sightingsAround(accounts: readonly string[]): Array<{ account: string; seen: string }>;
  homeOpened(userId: string, at: Date): void;
  homeViewers(since: Date): string[];
  homeViewHash(userId: string): string | null;
  setHomeViewHash(userId: string, hash: string): void;
}

/** The outbox: effects written with their cause, taken out one lane at a time. */
export interface OutboxPort {
  enqueue(checkId: number, effect: Effect, at: Date): void;
  hasPendingDelivery(checkId: number, kind: EffectKind): boolean;
  nextDue(lane: Lane, nowMs: number): Delivery | UnreadableDelivery | null;
  earliestDue(lane: Lane): number | null;
  delivered(id: number): void;
  reschedule(id: number, nextAttemptAt: number, error: string): void;
  /** Not due before `nextAttemptAt` (paced, not failed: no attempt counted). */
  defer(id: number, nextAttemptAt: number): void;
  giveUp(id: number, error: string): void;
  deliveryStats(nowMs: number): DeliveryStats;
}

/** What the delivery worker uses: taking work out of the outbox and writing down how it went. */
export type DeliveryQueue = Transactions & Pick<OutboxPort, 'nextDue' | 'earliestDue' | 'delivered' | 'reschedule' | 'defer' | 'giveUp'>;

/** What metrics read at scrape time. */
export type MetricsReadings = Pick<OutboxPort, 'deliveryStats'> & Pick<CheckPort, 'countPending'>;

/** Everything the Gate (the use cases) reads and writes. */
export type GatePorts = Transactions & CheckPort & NudgePort & AuditPort & PeoplePort & Pick<OutboxPort, 'enqueue' | 'hasPendingDelivery'>;

/** What a person is told when the database cannot take their request. */
export function unavailableMessage(error: StoreUnavailable): string {
  return error.kept ? error.message : `${error.message} Nothing was recorded; try again in a minute.`;
}
