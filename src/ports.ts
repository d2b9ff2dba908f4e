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
  transaction<T>(work: () => Promise<T>): Promise<T>;
}

/** Checks, the votes on them, and clicks taken in but not yet decided. */
export interface CheckPort {
  /**
   * Holds this merge request's GitLab check until the transaction ends: calls about it from
   * other replicas wait, so the same call arriving twice at once makes one check and one card.
   */
  lockMergeRequest(projectId: number, mergeRequestIid: number, statusCheckId: number): Promise<void>;
  /** Holds one check until the transaction ends: simultaneous clicks on two replicas decide once. */
  lockCheck(id: number): Promise<void>;
  getCheck(id: number): Promise<Check | null>;
  checksOf(projectId: number, mergeRequestIid: number, statusCheckId: number): Promise<Check[]>;
  insertCheck(event: MergeRequestEvent, state: CheckState, previousSha: string | null, rule: { name: string; required: number }, at: Date): Promise<Check>;
  refreshCheck(id: number, event: MergeRequestEvent, at: Date): Promise<void>;
  retire(id: number, to: CheckState, at: Date): Promise<boolean>;
  reopen(id: number, at: Date): Promise<void>;
  vote(id: number, vote: { outcome: Outcome; actor: Actor; account: string; reason: string | null; decides: boolean }, at: Date): Promise<'decided' | 'counted' | 'not_pending'>;
  approvingAccounts(checkId: number, sha: string): Promise<string[]>;
  regate(id: number, rule: { name: string; required: number }, reopen: boolean, at: Date): Promise<void>;
  checksWithoutCard(): Promise<number[]>;
  setReport(id: number, report: ReportState, error: string | null, at: Date): Promise<void>;
  markStale(id: number, error: string, at: Date): Promise<void>;
  setCard(id: number, channel: string, ts: string, at: Date): Promise<void>;
  setCardError(id: number, error: string | null, at: Date): Promise<void>;
  pendingChecks(limit: number): Promise<Check[]>;
  pendingByRule(): Promise<Array<{ projectPath: string; targetBranch: string; escalated: boolean; count: number }>>;
  countPending(): Promise<number>;
  pageOfChecks(filter: CheckFilter): Promise<{ checks: Check[]; next: CheckCursor | null }>;
  countChecks(filter: Omit<CheckFilter, 'after' | 'limit'>): Promise<number>;
  changeMark(): Promise<string>;
  decisionsBy(via: Via, actorId: string, limit: number): Promise<Array<{ check: Check; outcome: Outcome; decidedAt: Date }>>;
  pendingAuthoredBy(email: string, limit: number): Promise<Check[]>;
  /** `breakGlass`: an emergency approval during a freeze, settled as one after a restart. */
  takeRequest(checkId: number, outcome: Outcome, actor: Actor, reason: string | null, at: Date, breakGlass?: boolean): Promise<number>;
  settleRequest(id: number): Promise<void>;
  openRequests(): Promise<Array<{ id: number; checkId: number; outcome: Outcome; actor: Actor; reason: string | null; breakGlass: boolean }>>;
}

/** What the reconciler compares with GitLab's view. */
export interface ReconcilePort {
  knownProjects(): Promise<number[]>;
  statusCheckIdsSeen(projectId: number): Promise<number[]>;
  checksOfMergeRequest(projectId: number, mergeRequestIid: number): Promise<Check[]>;
  mergeRequestsWaiting(projectId: number): Promise<number[]>;
}

/** Reminders and escalations, durable across restarts. */
export interface NudgePort {
  scheduleNudge(checkId: number, kind: Nudge, dueAt: number): Promise<void>;
  dueNudges(nowMs: number, limit: number): Promise<Array<{ id: number; checkId: number; kind: Nudge; dueAt: number }>>;
  /**
   * Holds a due nudge until the transaction ends; false when it moved or went meanwhile (another
   * replica sent it): then it is not sent again.
   */
  holdNudge(id: number, dueAt: number): Promise<boolean>;
  nudgesOf(checkId: number): Promise<Array<{ kind: Nudge; dueAt: number }>>;
  moveNudge(id: number, dueAt: number): Promise<void>;
  dropNudge(id: number): Promise<void>;
  clearEscalation(checkId: number): Promise<void>;
  markEscalated(checkId: number, at: Date): Promise<void>;
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
  audit(event: AuditInput, at: Date): Promise<void>;
  auditEvents(range: AuditRange): Promise<AuditEvent[]>;
}

/** People: what identifies their accounts, and whose Slack Home tab is open. */
export interface PeoplePort {
  sighted(account: string, seen: string, at: Date): Promise<void>;
  sightingsAround(accounts: readonly string[]): Promise<Array<{ account: string; seen: string }>>;
  homeOpened(userId: string, at: Date): Promise<void>;
  homeViewers(since: Date): Promise<string[]>;
  homeViewHash(userId: string): Promise<string | null>;
  setHomeViewHash(userId: string, hash: string): Promise<void>;
}

/** The outbox: effects written with their cause, taken out one lane at a time. */
export interface OutboxPort {
  enqueue(checkId: number, effect: Effect, at: Date): Promise<void>;
  /** `listener` hears which lanes got new deliveries, once they are committed (this process's own). */
  onQueued(listener: (lanes: ReadonlySet<Lane>) => void): void;
  hasPendingDelivery(checkId: number, kind: EffectKind): Promise<boolean>;
  nextDue(lane: Lane, nowMs: number): Promise<Delivery | UnreadableDelivery | null>;
  earliestDue(lane: Lane): Promise<number | null>;
  /** Another lease on a claimed delivery whose calls still run; false once it is no longer this process's. */
  extendLease(id: number, nowMs: number): Promise<boolean>;
  /**
   * A delivered effect leaves the outbox. False when another replica holds it now, gave it up,
   * or it is gone (its lease ended and another replica took it over): what this process would
   * write is not written. Let go of by another replica to try later, it still lands.
   */
  delivered(id: number): Promise<boolean>;
  /** False when the delivery is not this process's claim (any more): nothing is written. */
  reschedule(id: number, nextAttemptAt: number, error: string): Promise<boolean>;
  /** Not due before `nextAttemptAt` (paced, not failed: no attempt counted); false, like `reschedule`, when not this process's claim. */
  defer(id: number, nextAttemptAt: number): Promise<boolean>;
  /** False, like `reschedule`, when not this process's claim: nothing is written. */
  giveUp(id: number, error: string): Promise<boolean>;
  deliveryStats(nowMs: number): Promise<DeliveryStats>;
}

/** Work that runs on one replica at a time (reminders, reconciliation). */
export interface LeasePort {
  /**
   * Takes (or keeps) the named lease for `forMs` from `nowMs` when nobody else holds it; true
   * while this process holds it. A replica that dies loses it when the time is up.
   */
  holdLease(name: string, forMs: number, nowMs: number): Promise<boolean>;
}

/** Secrets every replica must share (the CSRF key): made once, by whichever replica asks first. */
export interface SharedKeyPort {
  sharedKey(name: string, make: () => string): Promise<string>;
}

/** What the delivery worker uses: taking work out of the outbox and writing down how it went. */
export type DeliveryQueue = Transactions & Pick<OutboxPort, 'nextDue' | 'earliestDue' | 'extendLease' | 'delivered' | 'reschedule' | 'defer' | 'giveUp'>;

/** What metrics read at scrape time. */
export type MetricsReadings = Pick<OutboxPort, 'deliveryStats'> & Pick<CheckPort, 'countPending'>;

/** Everything the Gate (the use cases) reads and writes. */
export type GatePorts = Transactions & CheckPort & NudgePort & AuditPort & PeoplePort & Pick<OutboxPort, 'enqueue' | 'hasPendingDelivery'>;

/** What a person is told when the database cannot take their request. */
export function unavailableMessage(error: StoreUnavailable): string {
  return error.kept ? error.message : `${error.message} Nothing was recorded; try again in a minute.`;
}
