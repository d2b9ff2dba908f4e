import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import os from 'node:os';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, type UpdateObject } from 'kysely';
import type { Actor, Approval, Check, CheckState, MergeRequestEvent, Outcome, ReportState, Via } from '../domain/check.js';
import { decidedState } from '../domain/lifecycle.js';
import { LANE_OF, type Effect, type EffectKind, type Lane } from '../domain/effects.js';
import type { Nudge } from '../domain/schedule.js';
import { decodeEffect, encodeEffect } from './effect-codec.js';
import { isPostgresUrl, type Engine, type EngineOptions } from './engine.js';
import type { DeliveryTable, StatusCheckTable, Tables } from './schema.js';
import { openSqlite } from './sqlite.js';
import {
  StoreUnavailable,
  type AuditEvent,
  type AuditInput,
  type CheckCursor,
  type CheckFilter,
  type Delivery,
  type DeliveryOf,
  type DeliveryStats,
  type UnreadableDelivery,
  type AuditPort,
  type AuditRange,
  type CheckPort,
  type NudgePort,
  type OutboxPort,
  type PeoplePort,
  type ReconcilePort,
  type LeasePort,
  type SharedKeyPort,
  type Transactions,
} from '../ports.js';

export type { Lane } from '../domain/effects.js';
export { StoreUnavailable };
export type { AuditEvent, AuditInput, CheckCursor, CheckFilter, Delivery, DeliveryOf, DeliveryStats, UnreadableDelivery };

type CheckRow = Selectable<StatusCheckTable>;
type DeliveryRow = Selectable<DeliveryTable>;
type Db = Kysely<Tables>;

const date = (value: string | null): Date | null => (value === null || value === '' ? null : new Date(value));
const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

function toCheck(row: CheckRow, approvals: Approval[]): Check {
  return {
    id: row.id,
    projectId: row.project_id,
    projectPath: row.project_path,
    projectUrl: row.project_url,
    mergeRequestIid: row.merge_request_iid,
    title: row.merge_request_title,
    url: row.merge_request_url,
    sourceBranch: row.source_branch,
    targetBranch: row.target_branch,
    sha: row.sha,
    statusCheckId: row.external_status_check_id,
    statusCheckName: row.external_status_check_name,
    commitAuthor: row.commit_author,
    commitAuthorEmail: row.commit_author_email,
    triggeredBy: row.triggered_by,
    mergeRequestState: row.merge_request_state,
    draft: row.draft === 1,
    state: row.state,
    receivedAt: new Date(row.received_at),
    previousSha: row.previous_sha,
    decidedBy: row.decided_by,
    decidedByName: row.decided_by_name,
    decidedVia: row.decided_via,
    decidedAt: date(row.decided_at),
    reason: row.reason,
    report: row.report_state,
    reportError: row.report_error,
    reportedAt: date(row.reported_at),
    slackChannel: row.slack_channel,
    slackTs: row.slack_ts,
    cardError: row.card_error,
    approvalsRequired: row.approvals_required,
    updatedAt: date(row.mr_updated_at),
    ruleName: row.rule_name,
    approvals,
    escalatedAt: date(row.escalated_at),
  };
}

const toAuditEvent = (r: Selectable<Tables['audit_event']>): AuditEvent => ({
  id: r.id,
  at: new Date(r.at),
  checkId: r.check_id,
  event: r.event,
  actor: r.actor,
  via: r.via,
  sha: r.sha,
  detail: r.detail,
});

function toDelivery(row: DeliveryRow): Delivery | UnreadableDelivery {
  const read = decodeEffect(row.kind, row.payload);
  if (!read.ok) return { id: row.id, checkId: row.check_id, lane: row.lane, kind: row.kind, problem: read.problem, attempts: row.attempts };
  return {
    id: row.id,
    checkId: row.check_id,
    lane: row.lane,
    ...read.effect,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    state: row.state,
  } as Delivery;
}

/** A vote, as a check's approvals are counted from it. */
interface ApprovalVote {
  actor_id: string;
  actor_name: string;
  via: Via;
  decided_at: string;
  account: string | null;
  person: string | null;
}

/** The approvals that count, from one commit's votes oldest first: the first of each account. */
function countedApprovals(votes: readonly ApprovalVote[]): Approval[] {
  const byAccount = new Map<string, Approval>();
  for (const v of votes) {
    const account = v.account ?? v.person ?? '';
    if (!byAccount.has(account)) byAccount.set(account, { by: v.actor_id, name: v.actor_name, via: v.via, at: new Date(v.decided_at) });
  }
  return [...byAccount.values()];
}

const ALL_STATES: readonly CheckState[] = ['pending', 'approved', 'rejected', 'superseded', 'closed', 'merged', 'stale'];
const DECIDED_STATES = ALL_STATES.filter((state) => state !== 'pending');

/** Columns a search looks in, besides the merge request's number. */
const SEARCHED = ['project_path', 'merge_request_title', 'source_branch', 'target_branch', 'commit_author', 'triggered_by', 'decided_by_name'] as const;

/** A transaction in progress: its connection, and the lanes it queued deliveries on. */
interface Transaction {
  conn: Db;
  lanes: Set<Lane>;
}

/** How often a transaction that collided with another (PostgreSQL) is run again before giving up. */
const CONFLICT_RETRIES = 5;

export interface StoreOptions extends EngineOptions {
  /** How long a claimed delivery stays with the replica that claimed it (shared databases). */
  deliveryLeaseMs?: number;
}

/**
 * Opens the database at `location` (a `postgres://` URL, or else the path of a SQLite file) and
 * brings its schema up to date.
 */
export async function openStore(location: string, options: StoreOptions = {}): Promise<Store> {
  // PostgreSQL's driver is read only by the bots that use it.
  const engine = isPostgresUrl(location) ? await (await import('./postgres.js')).openPostgres(location, options) : openSqlite(location, options);
  return new Store(engine, options);
}

/**
 * Every query of the bot lives here, one copy for SQLite and PostgreSQL (Kysely builds each for
 * the dialect in hand; engine.ts says what else differs). Inside `transaction`, every call runs
 * on the transaction's connection (an AsyncLocalStorage carries it through the awaits).
 */
export class Store implements Transactions, CheckPort, ReconcilePort, NudgePort, AuditPort, PeoplePort, OutboxPort, LeasePort, SharedKeyPort {
  readonly #engine: Engine;
  readonly #transaction = new AsyncLocalStorage<Transaction>();
  /** Told, once their rows are committed, which lanes got new deliveries. */
  #queued: (lanes: ReadonlySet<Lane>) => void = () => undefined;
  /** Who this process is, for leases: unique among replicas and restarts. */
  readonly #me = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  readonly #leaseMs: number;
  /** Why the last write failed, until one succeeds again. */
  #failing: string | null = null;

  constructor(engine: Engine, options: StoreOptions = {}) {
    this.#engine = engine;
    this.#leaseMs = options.deliveryLeaseMs ?? 60_000;
  }

  /** `sqlite` or `postgres`. */
  get dialect(): Engine['dialect'] {
    return this.#engine.dialect;
  }

  /** Why the last write failed, or null when it succeeded. */
  get failing(): string | null {
    return this.#failing;
  }

  /**
   * Runs database work; turns "not now" from the database into StoreUnavailable, and remembers
   * it. Work that may write first asks the engine whether writing is safe at all (the SQLite
   * file is still the one opened); a read has nothing to lose and skips that.
   */
  async #guard<T>(work: () => Promise<T>, writes = true): Promise<T> {
    const refusal = writes ? this.#engine.refusal() : null;
    if (refusal) {
      this.#failing = refusal;
      throw new StoreUnavailable(`The database cannot be written: ${refusal}.`);
    }
    try {
      const result = await work();
      // Only a write that lands says writes work again.
      if (writes && this.#failing !== null) {
        this.#failing = null;
        this.#engine.recovered();
      }
      return result;
    } catch (error) {
      if (error instanceof StoreUnavailable) throw error;
      const problem = this.#engine.unavailable(error);
      if (problem === null) throw error;
      // Only writes say whether writes work: a read that fails leaves that to them.
      if (writes) {
        this.#failing = problem;
        this.#engine.failing();
      }
      throw new StoreUnavailable(`The database cannot be ${writes ? 'written' : 'read'}: ${problem}.`);
    }
  }

  /** The connection to run on: the current transaction's, or the pool (one statement on its own). */
  #on<T>(work: (db: Db) => Promise<T>): Promise<T> {
    const inside = this.#transaction.getStore();
    return inside ? work(inside.conn) : this.#guard(() => work(this.#engine.db));
  }

  /** Like `#on`, for work that only reads. */
  #read<T>(work: (db: Db) => Promise<T>): Promise<T> {
    const inside = this.#transaction.getStore();
    return inside ? work(inside.conn) : this.#guard(() => work(this.#engine.db), false);
  }

  /** Runs `work` as one write transaction: all of it lands, or none. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.#transaction.getStore()) return work();
    const { result, lanes } = await this.#guard(async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          const transaction: Transaction = { conn: this.#engine.db, lanes: new Set() };
          const result = await this.#engine.db.connection().execute(async (conn) => {
            transaction.conn = conn;
            await sql.raw(this.#engine.begin).execute(conn);
            try {
              const result = await this.#transaction.run(transaction, work);
              await sql`COMMIT`.execute(conn);
              return result;
            } catch (error) {
              await sql`ROLLBACK`.execute(conn).catch(() => undefined);
              throw error;
            }
          });
          // Only the attempt that committed says what it queued.
          return { result, lanes: transaction.lanes };
        } catch (error) {
          // Another replica's transaction crossed this one: run it again from the start.
          if (!this.#engine.conflict(error) || attempt >= CONFLICT_RETRIES) throw error;
        }
      }
    });
    this.#tell(lanes);
    return result;
  }

  /** Tells the listener of committed deliveries; its fault never turns a commit into a failure. */
  #tell(lanes: ReadonlySet<Lane>): void {
    if (lanes.size === 0) return;
    try {
      this.#queued(lanes);
    } catch {
      // The deliveries are in the outbox all the same: the worker finds them when it next looks.
    }
  }

  /**
   * Whether the database takes writes (readiness), without writing when all is well. After a
   * failed write, a real (tiny) write tells when it works again. Returns the problem, or null;
   * throws an error it does not expect.
   */
  async writeProblem(at: Date): Promise<string | null> {
    try {
      if (this.#failing !== null) {
        await this.#guard(() =>
          this.#engine.db
            .insertInto('heartbeat')
            .values({ id: 1, at: at.toISOString() })
            .onConflict((oc) => oc.column('id').doUpdateSet({ at: at.toISOString() }))
            .execute(),
        );
        return null;
      }
      return await this.#guard(() => this.#engine.probe());
    } catch (error) {
      // Any other error is the caller's to log and to put in words fit to show.
      if (error instanceof StoreUnavailable) return error.message;
      throw error;
    }
  }

  /**
   * Lets go of what this process holds (another replica, or the next start, takes it at once),
   * then closes. `inFlight`: deliveries whose calls may still land keep their leases until
   * they lapse, so that no other replica sends them again meanwhile.
   */
  async close(options: { inFlight?: boolean } = {}): Promise<void> {
    if (this.#engine.shared) {
      try {
        await this.#engine.db.deleteFrom('lease').where('holder', '=', this.#me).execute();
        if (!options.inFlight) await this.#engine.db.updateTable('delivery').set({ leased_until: null, leased_by: null }).where('leased_by', '=', this.#me).execute();
      } catch {
        // The database is gone: the leases lapse on their own.
      }
    }
    await this.#engine.close();
  }

  // --- locks across replicas ----------------------------------------------------------

  async lockMergeRequest(projectId: number, mergeRequestIid: number, statusCheckId: number): Promise<void> {
    const conn = this.#transaction.getStore()?.conn;
    if (conn) await this.#engine.lock(conn, `merge-request:${projectId}:${mergeRequestIid}:${statusCheckId}`);
  }

  async lockCheck(id: number): Promise<void> {
    if (!this.#engine.shared) return;
    // NO KEY: the check's own row is held, while rows that refer to it (votes, audit, outbox) may still be added.
    await this.#on((db) => db.selectFrom('status_check').select('id').where('id', '=', id).forNoKeyUpdate().execute());
  }

  /** Takes the named lease when it is free or lapsed, or keeps it when this process holds it. */
  holdLease(name: string, forMs: number, nowMs: number): Promise<boolean> {
    // One process writes a SQLite file: it holds every lease, and writing one each tick would be noise.
    if (!this.#engine.shared) return Promise.resolve(true);
    return this.#on(async (db) => {
      const row = await db
        .insertInto('lease')
        .values({ name, holder: this.#me, until_ms: nowMs + forMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder: this.#me, until_ms: nowMs + forMs })
            .where((eb) => eb.or([eb('lease.until_ms', '<=', nowMs), eb('lease.holder', '=', this.#me)])),
        )
        .returning('holder')
        .executeTakeFirst();
      return row?.holder === this.#me;
    });
  }

  sharedKey(name: string, make: () => string): Promise<string> {
    return this.#on(async (db) => {
      await db.insertInto('shared_key').values({ name, value: make() }).onConflict((oc) => oc.column('name').doNothing()).execute();
      const row = await db.selectFrom('shared_key').select('value').where('name', '=', name).executeTakeFirstOrThrow();
      return row.value;
    });
  }

  // --- checks -------------------------------------------------------------------------

  getCheck(id: number): Promise<Check | null> {
    return this.#read(async (db) => {
      const row = await db.selectFrom('status_check').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? ((await this.#toChecks(db, [row]))[0] ?? null) : null;
    });
  }

  /** Checks with the approvals counted towards each quorum (its commit's, one per account, first first). */
  async #toChecks(db: Db, rows: CheckRow[]): Promise<Check[]> {
    if (rows.length === 0) return [];
    const votes = await db
      .selectFrom('decision')
      .select(['check_id', 'sha', 'actor_id', 'actor_name', 'via', 'decided_at', 'account', 'person'])
      .where('check_id', 'in', rows.map((r) => r.id))
      .where('outcome', '=', 'approve')
      .where('voided', '=', 0)
      .orderBy('id')
      .execute();
    const shaOf = new Map(rows.map((r) => [r.id, r.sha]));
    const byCheck = new Map<number, typeof votes>();
    for (const v of votes) {
      if (shaOf.get(v.check_id) !== v.sha) continue;
      const of = byCheck.get(v.check_id);
      if (of) of.push(v);
      else byCheck.set(v.check_id, [v]);
    }
    return rows.map((row) => toCheck(row, countedApprovals(byCheck.get(row.id) ?? [])));
  }

  /** Every stored check of one merge request and GitLab check, oldest first. */
  checksOf(projectId: number, mergeRequestIid: number, statusCheckId: number): Promise<Check[]> {
    return this.#read(async (db) =>
      this.#toChecks(
        db,
        await db
          .selectFrom('status_check')
          .selectAll()
          .where('project_id', '=', projectId)
          .where('merge_request_iid', '=', mergeRequestIid)
          .where('external_status_check_id', '=', statusCheckId)
          .orderBy('id')
          .execute(),
      ),
    );
  }

  /** The new check as stored; it has no votes yet. */
  insertCheck(event: MergeRequestEvent, state: CheckState, previousSha: string | null, rule: { name: string; required: number }, at: Date): Promise<Check> {
    const now = at.toISOString();
    return this.#on(async (db) => {
      const row = await db
        .insertInto('status_check')
        .values({
          project_id: event.projectId,
          project_path: event.projectPath,
          project_url: event.projectUrl,
          merge_request_iid: event.mergeRequestIid,
          merge_request_title: event.title,
          merge_request_url: event.url,
          source_branch: event.sourceBranch,
          target_branch: event.targetBranch,
          sha: event.sha,
          external_status_check_id: event.statusCheckId,
          external_status_check_name: event.statusCheckName,
          commit_author: event.commitAuthor,
          triggered_by: event.triggeredBy,
          merge_request_state: event.mergeRequestState,
          draft: event.draft ? 1 : 0,
          state,
          previous_sha: previousSha,
          received_at: now,
          updated_at: now,
          approvals_required: rule.required,
          rule_name: rule.name,
          mr_updated_at: iso(event.updatedAt),
          commit_author_email: event.commitAuthorEmail ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCheck(row, []);
    });
  }

  /** Keeps what people read on the card current: title, branches, draft, merge request state. */
  refreshCheck(id: number, event: MergeRequestEvent, at: Date): Promise<void> {
    const mrUpdatedAt = iso(event.updatedAt);
    return this.#on(async (db) => {
      await db
        .updateTable('status_check')
        .set({
          merge_request_title: event.title,
          merge_request_url: event.url,
          source_branch: event.sourceBranch,
          target_branch: event.targetBranch,
          merge_request_state: event.mergeRequestState,
          draft: event.draft ? 1 : 0,
          updated_at: at.toISOString(),
          // The merge request's own clock only moves forward: a late call does not turn it back.
          mr_updated_at: (eb) =>
            eb
              .case()
              .when(eb.fn.coalesce('mr_updated_at', sql.lit('')), '<', mrUpdatedAt ?? '')
              .then(mrUpdatedAt)
              .else(eb.ref('mr_updated_at'))
              .end(),
        })
        .where('id', '=', id)
        .execute();
    });
  }

  /** Moves a check that nobody decided to another state; false when it was no longer pending. */
  retire(id: number, to: CheckState, at: Date): Promise<boolean> {
    return this.#on(async (db) => {
      const result = await db
        .updateTable('status_check')
        .set({ state: to, updated_at: at.toISOString() })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  /** A check that ended undecided (closed, superseded) waits for a person again, on a new card. */
  reopen(id: number, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .updateTable('status_check')
        .set({ state: 'pending', slack_channel: null, slack_ts: null, card_error: null, updated_at: at.toISOString() })
        .where('id', '=', id)
        .where('state', 'in', ['closed', 'superseded'])
        .execute();
    });
  }

  /**
   * Records one vote on a pending check, and decides the check when `decides` says the vote
   * settles it (the gate counts people: see domain/people.ts). The conditional UPDATE is what
   * makes simultaneous clicks safe: exactly one of them changes the row. Returns what happened.
   */
  vote(
    id: number,
    vote: { outcome: Outcome; actor: Actor; account: string; reason: string | null; decides: boolean },
    at: Date,
  ): Promise<'decided' | 'counted' | 'not_pending'> {
    const now = at.toISOString();
    return this.#on(async (db) => {
      const check = await db.selectFrom('status_check').select('sha').where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
      if (!check) return 'not_pending';
      await db
        .insertInto('decision')
        .values({
          check_id: id,
          outcome: vote.outcome,
          actor_id: vote.actor.id,
          actor_name: vote.actor.name,
          via: vote.actor.via,
          reason: vote.reason,
          sha: check.sha,
          decided_at: now,
          person: vote.account,
          account: vote.account,
        })
        .execute();
      if (!vote.decides) {
        await db.updateTable('status_check').set({ updated_at: now }).where('id', '=', id).execute();
        return 'counted';
      }
      const result = await db
        .updateTable('status_check')
        .set({
          state: decidedState(vote.outcome),
          decided_by: vote.actor.id,
          decided_by_name: vote.actor.name,
          decided_via: vote.actor.via,
          decided_at: now,
          reason: vote.reason,
          report_state: 'sending',
          report_error: null,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1 ? 'decided' : 'not_pending';
    });
  }

  /** The accounts whose approvals of this commit still count, oldest first. */
  approvingAccounts(checkId: number, sha: string): Promise<string[]> {
    return this.#read(async (db) => {
      const rows = await db
        .selectFrom('decision')
        .select(['account', 'person'])
        .where('check_id', '=', checkId)
        .where('sha', '=', sha)
        .where('outcome', '=', 'approve')
        .where('voided', '=', 0)
        .orderBy('id')
        .execute();
      return [...new Set(rows.map((r) => r.account ?? r.person ?? ''))];
    });
  }

  /** Remembers that an account showed this e-mail or user id (the first time is kept). */
  sighted(account: string, seen: string, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .insertInto('account_sighting')
        .values({ account, seen, first_seen: at.toISOString() })
        .onConflict((oc) => oc.columns(['account', 'seen']).doNothing())
        .execute();
    });
  }

  /** Every sighting of these accounts and of the accounts linked to them by one they share, however far. */
  sightingsAround(accounts: readonly string[]): Promise<Array<{ account: string; seen: string }>> {
    if (accounts.length === 0) return Promise.resolve([]);
    return this.#read((db) =>
      db
        .withRecursive('linked(account)', (qb) =>
          qb
            .selectFrom('account_sighting')
            .select('account')
            .where('account', 'in', [...accounts])
            .union((u) =>
              u
                .selectFrom('linked')
                .innerJoin('account_sighting as a', 'a.account', 'linked.account')
                .innerJoin('account_sighting as b', 'b.seen', 'a.seen')
                .select('b.account'),
            ),
        )
        .selectFrom('account_sighting')
        .select(['account', 'seen'])
        .where('account', 'in', (qb) => qb.selectFrom('linked').select('linked.account'))
        .orderBy('account')
        .orderBy('seen')
        .execute(),
    );
  }

  /**
   * A different rule now governs the check: approvals cast so far stop counting. `reopen`
   * (the domain's planRegate) also clears its decision and card, so it waits again.
   */
  regate(id: number, rule: { name: string; required: number }, reopen: boolean, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db.updateTable('decision').set({ voided: 1 }).where('check_id', '=', id).where('outcome', '=', 'approve').execute();
      await db
        .updateTable('status_check')
        .set({ rule_name: rule.name, approvals_required: rule.required, updated_at: at.toISOString() })
        .$if(reopen, (qb) =>
          qb.set({
            state: 'pending',
            decided_by: null,
            decided_by_name: null,
            decided_via: null,
            decided_at: null,
            reason: null,
            report_state: 'none',
            report_error: null,
            slack_channel: null,
            slack_ts: null,
            card_error: null,
          }),
        )
        .where('id', '=', id)
        .execute();
    });
  }

  /** Pending checks whose card Slack refused for good: worth another try after a restart. */
  checksWithoutCard(): Promise<number[]> {
    return this.#read(async (db) => {
      const rows = await db
        .selectFrom('status_check as c')
        .select('c.id')
        .where('c.state', '=', 'pending')
        .where('c.slack_ts', 'is', null)
        .where('c.card_error', 'is not', null)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('delivery as d')
                .select(sql.lit(1).as('one'))
                .whereRef('d.check_id', '=', 'c.id')
                .where('d.kind', '=', 'post_card')
                .where('d.state', '=', 'pending'),
            ),
          ),
        )
        .execute();
      return rows.map((r) => r.id);
    });
  }

  setReport(id: number, report: ReportState, error: string | null, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .updateTable('status_check')
        .set({ report_state: report, report_error: error, updated_at: at.toISOString() })
        .$if(report === 'reported', (qb) => qb.set({ reported_at: at.toISOString() }))
        .where('id', '=', id)
        .execute();
    });
  }

  /** GitLab refused the report because the merge request's HEAD had moved on. */
  markStale(id: number, error: string, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .updateTable('status_check')
        .set({ state: 'stale', report_state: 'failed', report_error: error, updated_at: at.toISOString() })
        .where('id', '=', id)
        .execute();
    });
  }

  setCard(id: number, channel: string, ts: string, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .updateTable('status_check')
        .set({ slack_channel: channel, slack_ts: ts, card_error: null, updated_at: at.toISOString() })
        .where('id', '=', id)
        .execute();
    });
  }

  setCardError(id: number, error: string | null, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db.updateTable('status_check').set({ card_error: error, updated_at: at.toISOString() }).where('id', '=', id).execute();
    });
  }

  /** Checks waiting for a decision, newest first. */
  pendingChecks(limit: number): Promise<Check[]> {
    return this.#read(async (db) =>
      this.#toChecks(db, await db.selectFrom('status_check').selectAll().where('state', '=', 'pending').orderBy('id', 'desc').limit(limit).execute()),
    );
  }

  /**
   * How many checks wait, by what chooses their rule (project, target branch, escalated): who
   * may decide them is known per group, without reading every pending check.
   */
  pendingByRule(): Promise<Array<{ projectPath: string; targetBranch: string; escalated: boolean; count: number }>> {
    return this.#read(async (db) => {
      const escalated = sql<number | boolean>`escalated_at IS NOT NULL`;
      const rows = await db
        .selectFrom('status_check')
        .select(['project_path', 'target_branch', escalated.as('escalated'), (eb) => eb.fn.countAll<number>().as('n')])
        .where('state', '=', 'pending')
        .groupBy(['project_path', 'target_branch', escalated])
        .execute();
      return rows.map((r) => ({ projectPath: r.project_path, targetBranch: r.target_branch, escalated: r.escalated === true || r.escalated === 1, count: Number(r.n) }));
    });
  }

  countPending(): Promise<number> {
    return this.#read(async (db) => {
      const row = await db.selectFrom('status_check').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'pending').executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /**
   * One page of the web list. Pending checks alone come newest first by number, which a vote
   * or a card update does not change; any other selection comes most recently changed first.
   * Keyset paging: `after` is the last row of the previous page, so a page costs the same
   * however deep it is.
   */
  pageOfChecks(filter: CheckFilter): Promise<{ checks: Check[]; next: CheckCursor | null }> {
    const byNumber = filter.states?.length === 1 && filter.states[0] === 'pending';
    return this.#read(async (db) => {
      let query = this.#filtered(db, filter.states, filter.q).selectAll();
      const after = filter.after;
      if (after) {
        query = byNumber
          ? query.where('id', '<', after.id)
          : // A row value: both databases read it as a range of the (updated_at, id) index, where
            // the same condition spelt with OR makes PostgreSQL walk the index from its end.
            query.where((eb) => eb(eb.refTuple('updated_at', 'id'), '<', eb.tuple(after.updatedAt ?? '', after.id)));
      }
      query = byNumber ? query.orderBy('id', 'desc') : query.orderBy('updated_at', 'desc').orderBy('id', 'desc');
      const rows = await query.limit(filter.limit + 1).execute();
      const more = rows.length > filter.limit;
      const page = rows.slice(0, filter.limit);
      const last = page.at(-1);
      return {
        checks: await this.#toChecks(db, page),
        next: more && last ? { id: last.id, updatedAt: byNumber ? null : last.updated_at } : null,
      };
    });
  }

  /** How many checks match a filter (without paging). */
  countChecks(filter: Omit<CheckFilter, 'after' | 'limit'>): Promise<number> {
    return this.#read(async (db) => {
      // Without words to find, the counts kept per state answer at once.
      if (!filter.q) {
        const row = await db
          .selectFrom('check_count')
          .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('n'), sql.lit(0)).as('n'))
          .where('state', 'in', [...(filter.states ?? ALL_STATES)])
          .executeTakeFirstOrThrow();
        return Number(row.n);
      }
      const row = await this.#filtered(db, filter.states, filter.q)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /**
   * Checks in these states (null: all) that match the words. "Everything but pending" is
   * written as such, so that it reads through the index of decided checks by change (a
   * partial index matches only its own condition, written out) instead of sorting all of them.
   */
  #filtered(db: Db, states: readonly CheckState[] | null, q: string | null) {
    let query = db.selectFrom('status_check');
    if (states) {
      const decided = states.length === DECIDED_STATES.length && DECIDED_STATES.every((state) => states.includes(state));
      query = decided ? query.where('state', '<>', 'pending') : query.where('state', 'in', [...states]);
    }
    if (q) query = query.where(this.#search(q));
    return query;
  }

  /**
   * Words to find in a project, title, branch or author; `!128` or `128` is a merge request,
   * `group/project!128` one of that project. Case does not matter, on either database.
   */
  #search(q: string) {
    const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const op = this.#engine.dialect === 'postgres' ? sql`ILIKE` : sql`LIKE`;
    const matches = (column: string, pattern: string) => sql<boolean>`${sql.ref(column)} ${op} ${pattern} ESCAPE '\\'`;
    const mr = /^(.*?)!(\d{1,9})$/.exec(q);
    if (mr) return sql<boolean>`(merge_request_iid = ${Number(mr[2])} AND ${matches('project_path', like(mr[1] ?? ''))})`;
    const iid = /^\d{1,9}$/.test(q) ? Number(q) : -1;
    const pattern = like(q);
    return sql<boolean>`(merge_request_iid = ${iid} OR ${sql.join(
      SEARCHED.map((column) => matches(column, pattern)),
      sql` OR `,
    )})`;
  }

  /** Changes whenever any check is added or changes: an open web list compares it to refresh. */
  changeMark(): Promise<string> {
    return this.#read(async (db) => {
      // Two subqueries: with both aggregates in one SELECT, SQLite reads every row instead of one index end each.
      const row = await db
        .selectNoFrom((eb) => [
          eb.selectFrom('status_check').select((e) => e.fn.max('updated_at').as('at')).as('at'),
          eb.selectFrom('status_check').select((e) => e.fn.max('id').as('id')).as('id'),
        ])
        .executeTakeFirstOrThrow();
      return `${row.id ?? 0}.${row.at ?? ''}`;
    });
  }

  decisionsOf(checkId: number): Promise<Array<{ outcome: Outcome; actorId: string; actorName: string; via: Via; reason: string | null; sha: string; decidedAt: Date }>> {
    return this.#read(async (db) => {
      const rows = await db.selectFrom('decision').selectAll().where('check_id', '=', checkId).orderBy('id').execute();
      return rows.map((r) => ({
        outcome: r.outcome,
        actorId: r.actor_id,
        actorName: r.actor_name,
        via: r.via,
        reason: r.reason,
        sha: r.sha,
        decidedAt: new Date(r.decided_at),
      }));
    });
  }

  // --- reconciliation: what the bot holds, to compare with GitLab's view -------------------

  /** Every project the bot has received a call for. */
  knownProjects(): Promise<number[]> {
    return this.#read(async (db) => (await db.selectFrom('status_check').select('project_id').distinct().orderBy('project_id').execute()).map((r) => r.project_id));
  }

  /** The GitLab status check ids the bot has seen in calls for a project. */
  statusCheckIdsSeen(projectId: number): Promise<number[]> {
    return this.#read(async (db) =>
      (
        await db
          .selectFrom('status_check')
          .select('external_status_check_id')
          .distinct()
          .where('project_id', '=', projectId)
          .orderBy('external_status_check_id')
          .execute()
      ).map((r) => r.external_status_check_id),
    );
  }

  /** Every stored check of one merge request (all status checks, all commits), oldest first. */
  checksOfMergeRequest(projectId: number, mergeRequestIid: number): Promise<Check[]> {
    return this.#read(async (db) =>
      this.#toChecks(
        db,
        await db.selectFrom('status_check').selectAll().where('project_id', '=', projectId).where('merge_request_iid', '=', mergeRequestIid).orderBy('id').execute(),
      ),
    );
  }

  /** The merge requests of a project that have a check waiting for a decision. */
  mergeRequestsWaiting(projectId: number): Promise<number[]> {
    return this.#read(async (db) =>
      (
        await db
          .selectFrom('status_check')
          .select('merge_request_iid')
          .distinct()
          .where('project_id', '=', projectId)
          .where('state', '=', 'pending')
          .orderBy('merge_request_iid')
          .execute()
      ).map((r) => r.merge_request_iid),
    );
  }

  // --- reminders and escalation (durable: a restart neither loses nor doubles them) --------

  /** Schedules (or moves) the reminder or escalation of a check. */
  scheduleNudge(checkId: number, kind: Nudge, dueAt: number): Promise<void> {
    return this.#on(async (db) => {
      await db
        .insertInto('nudge')
        .values({ check_id: checkId, kind, due_at: dueAt })
        .onConflict((oc) => oc.columns(['check_id', 'kind']).doUpdateSet({ due_at: dueAt }))
        .execute();
    });
  }

  dueNudges(nowMs: number, limit: number): Promise<Array<{ id: number; checkId: number; kind: Nudge; dueAt: number }>> {
    return this.#read(async (db) =>
      (await db.selectFrom('nudge').selectAll().where('due_at', '<=', nowMs).orderBy('due_at').orderBy('id').limit(limit).execute()).map((r) => ({
        id: r.id,
        checkId: r.check_id,
        kind: r.kind,
        dueAt: r.due_at,
      })),
    );
  }

  holdNudge(id: number, dueAt: number): Promise<boolean> {
    return this.#on(async (db) => {
      const row = await db
        .selectFrom('nudge')
        .select('id')
        .where('id', '=', id)
        .where('due_at', '=', dueAt)
        .$if(this.#engine.shared, (qb) => qb.forUpdate())
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  nudgesOf(checkId: number): Promise<Array<{ kind: Nudge; dueAt: number }>> {
    return this.#read(async (db) =>
      (await db.selectFrom('nudge').select(['kind', 'due_at']).where('check_id', '=', checkId).orderBy('kind').execute()).map((r) => ({ kind: r.kind, dueAt: r.due_at })),
    );
  }

  moveNudge(id: number, dueAt: number): Promise<void> {
    return this.#on(async (db) => {
      await db.updateTable('nudge').set({ due_at: dueAt }).where('id', '=', id).execute();
    });
  }

  dropNudge(id: number): Promise<void> {
    return this.#on(async (db) => {
      await db.deleteFrom('nudge').where('id', '=', id).execute();
    });
  }

  /** The check waits anew (reopened, re-gated): its backup approvers wait for a new escalation. */
  clearEscalation(checkId: number): Promise<void> {
    return this.#on(async (db) => {
      await db.updateTable('status_check').set({ escalated_at: null }).where('id', '=', checkId).execute();
    });
  }

  markEscalated(checkId: number, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db.updateTable('status_check').set({ escalated_at: at.toISOString(), updated_at: at.toISOString() }).where('id', '=', checkId).execute();
    });
  }

  // --- the audit trail (append-only: triggers refuse updates and deletes) -----------------

  audit(event: AuditInput, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .insertInto('audit_event')
        .values({
          at: at.toISOString(),
          check_id: event.checkId,
          event: event.event,
          actor: event.actor ?? null,
          via: event.via ?? null,
          sha: event.sha ?? null,
          detail: event.detail ?? null,
        })
        .execute();
    });
  }

  /**
   * Events in a time range (inclusive from, exclusive to), oldest first; of one check when
   * `checkId` is given (read through that check's index, however long the whole trail is).
   * `after` is the last event of the previous batch: an export reads batch by batch, so no
   * statement stays open while the response waits for a slow client.
   */
  auditEvents(range: AuditRange): Promise<AuditEvent[]> {
    return this.#read(async (db) => {
      let query = db.selectFrom('audit_event').selectAll();
      if (range.checkId !== undefined) query = query.where('check_id', '=', range.checkId);
      query = query.where('at', '>=', range.from.toISOString()).where('at', '<', range.to.toISOString());
      const after = range.after;
      if (after) {
        const at = after.at.toISOString();
        query = query.where((eb) => eb(eb.refTuple('at', 'id'), '>', eb.tuple(at, after.id)));
      }
      return (await query.orderBy('at').orderBy('id').limit(range.limit).execute()).map(toAuditEvent);
    });
  }

  // --- clicks taken in, not yet decided --------------------------------------------------

  takeRequest(checkId: number, outcome: Outcome, actor: Actor, reason: string | null, at: Date, breakGlass = false): Promise<number> {
    return this.#on(async (db) => {
      const row = await db
        .insertInto('decision_request')
        .values({ check_id: checkId, outcome, actor: JSON.stringify(actor), reason, received_at: at.toISOString(), break_glass: breakGlass ? 1 : 0 })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    });
  }

  settleRequest(id: number): Promise<void> {
    return this.#on(async (db) => {
      await db.deleteFrom('decision_request').where('id', '=', id).execute();
    });
  }

  openRequests(): Promise<Array<{ id: number; checkId: number; outcome: Outcome; actor: Actor; reason: string | null; breakGlass: boolean }>> {
    return this.#read(async (db) =>
      (await db.selectFrom('decision_request').selectAll().orderBy('id').execute()).map((r) => ({
        id: r.id,
        checkId: r.check_id,
        outcome: r.outcome,
        actor: JSON.parse(r.actor) as Actor,
        reason: r.reason,
        breakGlass: r.break_glass === 1,
      })),
    );
  }

  // --- the Slack Home tab ------------------------------------------------------------------

  /** A person opened the app's Home tab: refresh it after decisions from now on. */
  homeOpened(userId: string, at: Date): Promise<void> {
    return this.#on(async (db) => {
      await db
        .insertInto('home_tab')
        .values({ user_id: userId, opened_at: at.toISOString(), view_hash: null })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ opened_at: at.toISOString() }))
        .execute();
    });
  }

  /** People who opened the Home tab since `since`. */
  homeViewers(since: Date): Promise<string[]> {
    return this.#read(async (db) =>
      (await db.selectFrom('home_tab').select('user_id').where('opened_at', '>=', since.toISOString()).orderBy('user_id').execute()).map((r) => r.user_id),
    );
  }

  homeViewHash(userId: string): Promise<string | null> {
    return this.#read(async (db) => (await db.selectFrom('home_tab').select('view_hash').where('user_id', '=', userId).executeTakeFirst())?.view_hash ?? null);
  }

  setHomeViewHash(userId: string, hash: string): Promise<void> {
    return this.#on(async (db) => {
      await db.updateTable('home_tab').set({ view_hash: hash }).where('user_id', '=', userId).execute();
    });
  }

  /** One person's most recent decisions (votes), newest first, with the check each was on. */
  decisionsBy(via: Via, actorId: string, limit: number): Promise<Array<{ check: Check; outcome: Outcome; decidedAt: Date }>> {
    return this.#read(async (db) => {
      const votes = await db
        .selectFrom('decision')
        .select(['check_id', 'outcome', 'decided_at'])
        .where('via', '=', via)
        .where('actor_id', '=', actorId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      if (votes.length === 0) return [];
      const rows = await db.selectFrom('status_check').selectAll().where('id', 'in', [...new Set(votes.map((v) => v.check_id))]).execute();
      const checks = new Map((await this.#toChecks(db, rows)).map((c) => [c.id, c]));
      return votes.flatMap((v) => {
        const check = checks.get(v.check_id);
        return check ? [{ check, outcome: v.outcome, decidedAt: new Date(v.decided_at) }] : [];
      });
    });
  }

  /** Pending checks whose newest commit this e-mail wrote, oldest first. */
  pendingAuthoredBy(email: string, limit: number): Promise<Check[]> {
    return this.#read(async (db) =>
      this.#toChecks(
        db,
        await db
          .selectFrom('status_check')
          .selectAll()
          .where('state', '=', 'pending')
          .where((eb) => eb(eb.fn('lower', ['commit_author_email']), '=', email.toLowerCase()))
          .orderBy('id')
          .limit(limit)
          .execute(),
      ),
    );
  }

  // --- deliveries (the outbox) ---------------------------------------------------------

  /** Queues an effect on its kind's lane; the lane hears of it once the row is committed (`onQueued`). */
  async enqueue(checkId: number, effect: Effect, at: Date): Promise<void> {
    const { kind, payload } = encodeEffect(effect);
    const lane = LANE_OF[kind];
    await this.#on(async (db) => {
      await db
        .insertInto('delivery')
        .values({ check_id: checkId, lane, kind, payload, next_attempt_at: at.getTime(), created_at: at.toISOString(), leased_until: null, leased_by: null })
        .execute();
    });
    const inside = this.#transaction.getStore();
    if (inside) inside.lanes.add(lane);
    else this.#tell(new Set([lane]));
  }

  /** Who hears of new deliveries (the delivery worker of this process; one, a second replaces it); other replicas poll. */
  onQueued(listener: (lanes: ReadonlySet<Lane>) => void): void {
    this.#queued = listener;
  }

  /** Whether a delivery of this kind still waits for the check. */
  hasPendingDelivery(checkId: number, kind: EffectKind): Promise<boolean> {
    return this.#read(
      async (db) =>
        (await db.selectFrom('delivery').select('id').where('check_id', '=', checkId).where('kind', '=', kind).where('state', '=', 'pending').limit(1).executeTakeFirst()) !==
        undefined,
    );
  }

  /**
   * The deliveries of a lane `nextDue` may take: pending, and first of their check's on that
   * lane, so a card is never updated before it was posted.
   */
  #headsOf(db: Db, lane: Lane) {
    return db
      .selectFrom('delivery as d')
      .where('d.lane', '=', lane)
      .where('d.state', '=', 'pending')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('delivery as e')
              .select(sql.lit(1).as('one'))
              .whereRef('e.check_id', '=', 'd.check_id')
              .whereRef('e.lane', '=', 'd.lane')
              .where('e.state', '=', 'pending')
              .whereRef('e.id', '<', 'd.id'),
          ),
        ),
      );
  }

  /**
   * The next delivery due on a lane. On a database several replicas share, it is claimed for
   * this process until the lease ends (row locks skip what another replica is claiming): if
   * this process dies, another takes the delivery over once the lease is over.
   */
  nextDue(lane: Lane, nowMs: number): Promise<Delivery | UnreadableDelivery | null> {
    return this.#on(async (db) => {
      const due = this.#headsOf(db, lane)
        .select('d.id')
        .where('d.next_attempt_at', '<=', nowMs)
        .where((eb) => eb.or([eb('d.leased_until', 'is', null), eb('d.leased_until', '<=', nowMs)]))
        .orderBy('d.next_attempt_at')
        .orderBy('d.id')
        .limit(1);
      if (!this.#engine.shared) {
        const row = await db.selectFrom('delivery').selectAll().where('id', '=', due).executeTakeFirst();
        return row ? toDelivery(row) : null;
      }
      const row = await db
        .updateTable('delivery')
        .set({ leased_until: nowMs + this.#leaseMs, leased_by: this.#me })
        .where('id', '=', due.forUpdate().skipLocked())
        .returningAll()
        .executeTakeFirst();
      return row ? toDelivery(row) : null;
    });
  }

  /**
   * Keeps a claimed delivery this process's for another lease from `nowMs`, while its calls
   * still run. False once another replica has taken it over.
   */
  extendLease(id: number, nowMs: number): Promise<boolean> {
    if (!this.#engine.shared) return Promise.resolve(true);
    return this.#on(async (db) => {
      const result = await db
        .updateTable('delivery')
        .set({ leased_until: nowMs + this.#leaseMs })
        .where('id', '=', id)
        .where('leased_by', '=', this.#me)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    });
  }

  /**
   * When the earliest pending delivery of a lane that `nextDue` may pick is due (ms since
   * epoch), or null. One waiting behind an older delivery of its check does not count: it is
   * due when that one is done, and counting it would wake the lane over and over meanwhile.
   * One another replica holds counts from when its lease ends.
   */
  earliestDue(lane: Lane): Promise<number | null> {
    return this.#read(async (db) => {
      const row = await this.#headsOf(db, lane)
        .select((eb) =>
          eb.fn
            .min(
              eb
                .case()
                .when('d.leased_until', '>', eb.ref('d.next_attempt_at'))
                .then(eb.ref('d.leased_until'))
                .else(eb.ref('d.next_attempt_at'))
                .end(),
            )
            .as('at'),
        )
        .executeTakeFirst();
      return row?.at ?? null;
    });
  }

  /**
   * Only the process that holds a delivery finishes it: once its lease ended and another
   * replica claimed the delivery, what this one learns comes too late to be written, even
   * after that replica let go of it again (a success excepted: see `delivered`). The lease
   * is the fence: this process's claim.
   */
  #ownedBy(eb: ExpressionBuilder<Tables, 'delivery'>): Expression<SqlBool> {
    return this.#engine.shared ? eb('leased_by', '=', this.#me) : sql<SqlBool>`1 = 1`;
  }

  /**
   * A delivered effect leaves the outbox; false when another replica holds it now, gave it up
   * for good, or it is gone. A success still lands when the replica that took it over has let
   * go of it to try again later (paced, or its own attempt failed) and nobody has claimed it
   * since: otherwise the same message would be sent again.
   */
  delivered(id: number): Promise<boolean> {
    return this.#on(async (db) => {
      const result = await db
        .deleteFrom('delivery')
        .where('id', '=', id)
        .where((eb) =>
          this.#engine.shared ? eb.or([this.#ownedBy(eb), eb.and([eb('leased_by', 'is', null), eb('state', '=', 'pending')])]) : this.#ownedBy(eb),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    });
  }

  /** A failure worth another try later. */
  reschedule(id: number, nextAttemptAt: number, error: string): Promise<boolean> {
    return this.#letGo(id, (eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: nextAttemptAt, last_error: error }));
  }

  /** Waits for its turn (a paced channel): not an attempt, and no error. */
  defer(id: number, nextAttemptAt: number): Promise<boolean> {
    return this.#letGo(id, () => ({ next_attempt_at: nextAttemptAt }));
  }

  /** A failure no retry will fix: kept, visible, no longer tried. */
  giveUp(id: number, error: string): Promise<boolean> {
    return this.#letGo(id, (eb) => ({ attempts: eb('attempts', '+', 1), state: 'failed', last_error: error }));
  }

  /** Writes how a delivery went and lets go of its lease; false when another replica took it over meanwhile (nothing written). */
  #letGo(id: number, change: (eb: ExpressionBuilder<Tables, 'delivery'>) => UpdateObject<Tables, 'delivery'>): Promise<boolean> {
    return this.#on(async (db) => {
      const result = await db
        .updateTable('delivery')
        .set((eb) => ({ ...change(eb), leased_until: null, leased_by: null }))
        .where('id', '=', id)
        .where((eb) => this.#ownedBy(eb))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  deliveryStats(nowMs: number): Promise<DeliveryStats> {
    return this.#read(async (db) => {
      const count = (state: 'pending' | 'failed') => sql<number>`sum(CASE WHEN state = ${state} THEN 1 ELSE 0 END)`;
      const row = await db
        .selectFrom('delivery')
        .select([
          count('pending').as('pending'),
          count('failed').as('failed'),
          (eb) => eb.fn.min(eb.case().when('state', '=', 'pending').then(eb.ref('created_at')).end()).as('oldest'),
        ])
        .executeTakeFirstOrThrow();
      return {
        pending: Number(row.pending ?? 0),
        failed: Number(row.failed ?? 0),
        oldestPendingMs: row.oldest ? Math.max(0, nowMs - Date.parse(row.oldest)) : 0,
      };
    });
  }
}
