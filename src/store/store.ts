import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Actor, Approval, Check, CheckState, MergeRequestEvent, Outcome, ReportState, Via } from '../domain/check.js';
import { decidedState } from '../domain/lifecycle.js';
import { LANE_OF, type Effect, type EffectKind, type Lane } from '../domain/effects.js';
import type { Nudge } from '../domain/schedule.js';
import { decodeEffect, encodeEffect } from './effect-codec.js';
import { migrations } from './migrations.js';
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
  type Transactions,
} from '../ports.js';

export type { Lane } from '../domain/effects.js';
export { StoreUnavailable };
export type { AuditEvent, AuditInput, CheckCursor, CheckFilter, Delivery, DeliveryOf, DeliveryStats, UnreadableDelivery };

interface CheckRow {
  id: number;
  project_id: number;
  project_path: string;
  project_url: string;
  merge_request_iid: number;
  merge_request_title: string;
  merge_request_url: string;
  source_branch: string;
  target_branch: string;
  sha: string;
  external_status_check_id: number;
  external_status_check_name: string;
  commit_author: string | null;
  triggered_by: string | null;
  merge_request_state: MergeRequestEvent['mergeRequestState'];
  draft: number;
  state: CheckState;
  previous_sha: string | null;
  decided_by: string | null;
  decided_by_name: string | null;
  decided_via: Via | null;
  decided_at: string | null;
  reason: string | null;
  report_state: ReportState;
  report_error: string | null;
  reported_at: string | null;
  slack_channel: string | null;
  slack_ts: string | null;
  card_error: string | null;
  received_at: string;
  updated_at: string;
  approvals_required: number;
  rule_name: string | null;
  mr_updated_at: string | null;
  commit_author_email: string | null;
  escalated_at: string | null;
}

interface DeliveryRow {
  id: number;
  check_id: number;
  lane: Lane;
  kind: string;
  payload: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  state: 'pending' | 'failed';
}

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

interface AuditRow {
  id: number;
  at: string;
  check_id: number | null;
  event: string;
  actor: string | null;
  via: string | null;
  sha: string | null;
  detail: string | null;
}

const toAuditEvent = (r: AuditRow): AuditEvent => ({ id: r.id, at: new Date(r.at), checkId: r.check_id, event: r.event, actor: r.actor, via: r.via, sha: r.sha, detail: r.detail });

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

const ALL_STATES: readonly CheckState[] = ['pending', 'approved', 'rejected', 'superseded', 'closed', 'merged', 'stale'];

/**
 * The condition for a state filter. "Everything but pending" is written as such, so that it
 * reads through the index of decided checks by change (a partial index matches only its own
 * condition, written out) instead of sorting all of them.
 */
function stateTerm(states: readonly CheckState[], params: Record<string, unknown>): string {
  const rest = ALL_STATES.filter((state) => state !== 'pending');
  if (states.length === rest.length && rest.every((state) => states.includes(state))) return `state <> 'pending'`;
  states.forEach((state, i) => (params[`state${i}`] = state));
  return `state IN (${states.map((_, i) => `@state${i}`).join(', ')})`;
}

/** SQLite's answers that say "not now" rather than "this write is wrong". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL|NOTADB|CORRUPT)/;

/**
 * How long a write waits for another connection's lock. Short because better-sqlite3 waits
 * synchronously, holding the event loop (and /healthz) for that long; a write that does not
 * get the lock in time is refused and retried later instead.
 */
const BUSY_TIMEOUT_MS = 200;

/** Every SQL statement of the bot lives here. */
export class Store implements Transactions, CheckPort, ReconcilePort, NudgePort, AuditPort, PeoplePort, OutboxPort {
  readonly #db: Database.Database;
  readonly #file: string | null;
  /** Device and inode of the file at start: a different pair means it was deleted or replaced. */
  readonly #identity: { dev: number; ino: number } | null;
  /** Why the last write failed, until one succeeds again. */
  #failing: string | null = null;

  /** Each SQL text is compiled once: preparing on every call cost more than many queries. */
  readonly #statements = new Map<string, Database.Statement>();

  /** `trace` sees each statement as it runs, with its values (for query plans and debugging). */
  constructor(file: string, options: { trace?: (sql: string) => void } = {}) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.#db = new Database(file, options.trace ? { verbose: (sql) => options.trace?.(String(sql)) } : {});
    this.#db.pragma('journal_mode = WAL');
    // FULL: a decision acknowledged to a person survives a power cut, not only a crash.
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.#migrate();
    this.#file = file === ':memory:' ? null : path.resolve(file);
    const stat = this.#file ? fs.statSync(this.#file) : null;
    this.#identity = stat ? { dev: stat.dev, ino: stat.ino } : null;
  }

  /** Null while the database file is the one opened at start; otherwise what happened to it. */
  #fileProblem(): string | null {
    if (!this.#file || !this.#identity) return null;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.#file);
    } catch {
      return `the database file ${this.#file} was deleted while the bot ran: writes would go to a file nobody can open again. Restore the file from a backup and restart the bot`;
    }
    if (stat.dev !== this.#identity.dev || stat.ino !== this.#identity.ino) {
      return `the database file ${this.#file} was replaced while the bot ran: the bot still writes to the old one. Restart the bot to open the new file`;
    }
    return null;
  }

  /** Runs a write; turns "not now" from SQLite into StoreUnavailable, and remembers it. */
  #write<T>(work: () => T): T {
    const gone = this.#fileProblem();
    if (gone) {
      this.#failing = gone;
      throw new StoreUnavailable(`The database cannot be written: ${gone}.`);
    }
    try {
      const result = work();
      if (this.#failing !== null) {
        this.#failing = null;
        this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      return result;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !UNAVAILABLE.test(code)) throw error;
      const busy = /^SQLITE_(BUSY|LOCKED)/.test(code);
      this.#failing = busy ? `another process holds the database's write lock (${(error as Error).message})` : (error as Error).message;
      // While writes fail, one quick try each instead of waiting out the timeout every time:
      // a lock held for long is not released faster by waiting on the event loop.
      this.#db.pragma('busy_timeout = 0');
      throw new StoreUnavailable(`The database cannot be written: ${this.#failing}.`);
    }
  }

  /** The statement for this SQL text, compiled on first use. */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Why the last write failed, or null when it succeeded. */
  get failing(): string | null {
    return this.#failing;
  }

  /**
   * Whether the database takes writes (readiness), without writing when all is well: the file
   * is still the one opened, and the write lock can be taken. After a failed write, a real
   * (tiny) write tells when it works again. Returns the problem, or null.
   */
  writeProblem(at: Date): string | null {
    try {
      if (this.#failing !== null) {
        this.#write(() => this.#heartbeatRow(at));
      } else {
        this.#write(() => {
          this.#db.exec('BEGIN IMMEDIATE');
          this.#db.exec('ROLLBACK');
        });
      }
      return null;
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      return (error as Error).message;
    }
  }

  #migrate(): void {
    const applied = this.#db.pragma('user_version', { simple: true }) as number;
    if (applied > migrations.length) {
      throw new Error(
        `The database was written by a newer version (schema ${applied}, this build knows ${migrations.length}): run that version or restore a backup.`,
      );
    }
    for (let version = applied; version < migrations.length; version += 1) {
      this.#db.transaction(() => {
        this.#db.exec((migrations[version] as { sqlite: string }).sqlite);
        this.#db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  /** Runs `work` as one write transaction: all of it lands, or none. */
  transaction<T>(work: () => T): T {
    return this.#write(() => this.#db.transaction(work).immediate());
  }

  close(): void {
    if (!this.#db.open) return;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }

  #heartbeatRow(at: Date): void {
    this.#prepare('INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, ?)').run(at.toISOString());
  }

  // --- checks -------------------------------------------------------------------------

  getCheck(id: number): Check | null {
    const row = this.#prepare('SELECT * FROM status_check WHERE id = ?').get(id) as CheckRow | undefined;
    return row ? this.#toCheck(row) : null;
  }

  /** A check with the approvals counted towards its quorum (this commit's, one per person). */
  #toCheck(row: CheckRow): Check {
    const approvals = this.#prepare(
        `SELECT actor_id, actor_name, via, min(decided_at) AS at FROM decision
         WHERE check_id = ? AND outcome = 'approve' AND sha = ? AND voided = 0 GROUP BY coalesce(account, person) ORDER BY min(id)`,
      )
      .all(row.id, row.sha) as Array<{ actor_id: string; actor_name: string; via: Via; at: string }>;
    return toCheck(
      row,
      approvals.map((a) => ({ by: a.actor_id, name: a.actor_name, via: a.via, at: new Date(a.at) })),
    );
  }

  /** Every stored check of one merge request and GitLab check, oldest first. */
  checksOf(projectId: number, mergeRequestIid: number, statusCheckId: number): Check[] {
    const rows = this.#prepare(
        `SELECT * FROM status_check
         WHERE project_id = ? AND merge_request_iid = ? AND external_status_check_id = ?
         ORDER BY id`,
      )
      .all(projectId, mergeRequestIid, statusCheckId) as CheckRow[];
    return rows.map((r) => this.#toCheck(r));
  }

  insertCheck(
    event: MergeRequestEvent,
    state: CheckState,
    previousSha: string | null,
    rule: { name: string; required: number },
    at: Date,
  ): number {
    const now = at.toISOString();
    const result = this.#prepare(
        `INSERT INTO status_check (
           project_id, project_path, project_url, merge_request_iid, merge_request_title,
           merge_request_url, source_branch, target_branch, sha, external_status_check_id,
           external_status_check_name, commit_author, triggered_by, merge_request_state, draft,
           state, previous_sha, received_at, updated_at, approvals_required, rule_name, mr_updated_at,
           commit_author_email)
         VALUES (@projectId, @projectPath, @projectUrl, @mergeRequestIid, @title, @url, @sourceBranch,
           @targetBranch, @sha, @statusCheckId, @statusCheckName, @commitAuthor, @triggeredBy,
           @mergeRequestState, @draft, @state, @previousSha, @now, @now, @required, @ruleName, @mrUpdatedAt,
           @commitAuthorEmail)`,
      )
      .run({ ...event, commitAuthorEmail: event.commitAuthorEmail ?? null, draft: event.draft ? 1 : 0, state, previousSha, now, required: rule.required, ruleName: rule.name, mrUpdatedAt: iso(event.updatedAt) });
    return Number(result.lastInsertRowid);
  }

  /** Keeps what people read on the card current: title, branches, draft, merge request state. */
  refreshCheck(id: number, event: MergeRequestEvent, at: Date): void {
    this.#prepare(
        `UPDATE status_check SET merge_request_title = @title, merge_request_url = @url,
           source_branch = @sourceBranch, target_branch = @targetBranch,
           merge_request_state = @mergeRequestState, draft = @draft, updated_at = @now,
           mr_updated_at = max(coalesce(mr_updated_at, ''), coalesce(@mrUpdatedAt, ''))
         WHERE id = @id`,
      )
      .run({ ...event, draft: event.draft ? 1 : 0, id, now: at.toISOString(), mrUpdatedAt: iso(event.updatedAt) });
  }

  /** Moves a check that nobody decided to another state; false when it was no longer pending. */
  retire(id: number, to: CheckState, at: Date): boolean {
    return (
      this.#prepare(`UPDATE status_check SET state = ?, updated_at = ? WHERE id = ? AND state = 'pending'`)
        .run(to, at.toISOString(), id).changes === 1
    );
  }

  /** A check that ended undecided (closed, superseded) waits for a person again, on a new card. */
  reopen(id: number, at: Date): void {
    this.#prepare(
        `UPDATE status_check SET state = 'pending', slack_channel = NULL, slack_ts = NULL,
           card_error = NULL, updated_at = ? WHERE id = ? AND state IN ('closed', 'superseded')`,
      )
      .run(at.toISOString(), id);
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
  ): 'decided' | 'counted' | 'not_pending' {
    const now = at.toISOString();
    const check = this.#prepare(`SELECT sha FROM status_check WHERE id = ? AND state = 'pending'`).get(id) as { sha: string } | undefined;
    if (!check) return 'not_pending';
    this.#prepare(
        `INSERT INTO decision (check_id, outcome, actor_id, actor_name, via, reason, sha, decided_at, person, account)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, vote.outcome, vote.actor.id, vote.actor.name, vote.actor.via, vote.reason, check.sha, now, vote.account, vote.account);
    if (!vote.decides) {
      this.#prepare('UPDATE status_check SET updated_at = ? WHERE id = ?').run(now, id);
      return 'counted';
    }
    const changed = this.#prepare(
        `UPDATE status_check SET state = @state, decided_by = @actorId, decided_by_name = @actorName,
           decided_via = @via, decided_at = @now, reason = @reason, report_state = 'sending',
           report_error = NULL, updated_at = @now
         WHERE id = @id AND state = 'pending'`,
      )
      .run({
        id,
        state: decidedState(vote.outcome),
        actorId: vote.actor.id,
        actorName: vote.actor.name,
        via: vote.actor.via,
        reason: vote.reason,
        now,
      }).changes;
    return changed === 1 ? 'decided' : 'not_pending';
  }

  /** The accounts whose approvals of this commit still count, oldest first. */
  approvingAccounts(checkId: number, sha: string): string[] {
    return (
      this.#prepare(
          `SELECT coalesce(account, person) AS account FROM decision
           WHERE check_id = ? AND sha = ? AND outcome = 'approve' AND voided = 0 GROUP BY 1 ORDER BY min(id)`,
        )
        .all(checkId, sha) as Array<{ account: string }>
    ).map((r) => r.account);
  }

  /** Remembers that an account showed this e-mail or user id (the first time is kept). */
  sighted(account: string, seen: string, at: Date): void {
    this.#prepare('INSERT OR IGNORE INTO account_sighting (account, seen, first_seen) VALUES (?, ?, ?)').run(account, seen, at.toISOString());
  }

  /** Every sighting of these accounts and of the accounts linked to them by one they share, however far. */
  sightingsAround(accounts: readonly string[]): Array<{ account: string; seen: string }> {
    return this.#prepare(
        `WITH RECURSIVE linked(account) AS (
           SELECT value FROM json_each(?)
           UNION
           SELECT b.account FROM linked
             JOIN account_sighting a ON a.account = linked.account
             JOIN account_sighting b ON b.seen = a.seen
         )
         SELECT account, seen FROM account_sighting WHERE account IN (SELECT account FROM linked) ORDER BY account, seen`,
      )
      .all(JSON.stringify(accounts)) as Array<{ account: string; seen: string }>;
  }

  /**
   * A different rule now governs the check: approvals cast so far stop counting. `reopen`
   * (the domain's planRegate) also clears its decision and card, so it waits again.
   */
  regate(id: number, rule: { name: string; required: number }, reopen: boolean, at: Date): void {
    const now = at.toISOString();
    this.#prepare(`UPDATE decision SET voided = 1 WHERE check_id = ? AND outcome = 'approve'`).run(id);
    this.#prepare(
        `UPDATE status_check SET rule_name = @name, approvals_required = @required, updated_at = @now
           ${reopen ? `, state = 'pending', decided_by = NULL, decided_by_name = NULL, decided_via = NULL,
           decided_at = NULL, reason = NULL, report_state = 'none', report_error = NULL,
           slack_channel = NULL, slack_ts = NULL, card_error = NULL` : ''}
         WHERE id = @id`,
      )
      .run({ id, name: rule.name, required: rule.required, now });
  }

  /** Pending checks whose card Slack refused for good: worth another try after a restart. */
  checksWithoutCard(): number[] {
    return (
      this.#prepare(
          `SELECT id FROM status_check c WHERE state = 'pending' AND slack_ts IS NULL AND card_error IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.check_id = c.id AND d.kind = 'post_card' AND d.state = 'pending')`,
        )
        .all() as Array<{ id: number }>
    ).map((r) => r.id);
  }

  setReport(id: number, report: ReportState, error: string | null, at: Date): void {
    this.#prepare(
        `UPDATE status_check SET report_state = ?, report_error = ?,
           reported_at = CASE WHEN ? = 'reported' THEN ? ELSE reported_at END, updated_at = ?
         WHERE id = ?`,
      )
      .run(report, error, report, at.toISOString(), at.toISOString(), id);
  }

  /** GitLab refused the report because the merge request's HEAD had moved on. */
  markStale(id: number, error: string, at: Date): void {
    this.#prepare(
        `UPDATE status_check SET state = 'stale', report_state = 'failed', report_error = ?, updated_at = ?
         WHERE id = ?`,
      )
      .run(error, at.toISOString(), id);
  }

  setCard(id: number, channel: string, ts: string, at: Date): void {
    this.#prepare('UPDATE status_check SET slack_channel = ?, slack_ts = ?, card_error = NULL, updated_at = ? WHERE id = ?')
      .run(channel, ts, at.toISOString(), id);
  }

  setCardError(id: number, error: string | null, at: Date): void {
    this.#prepare('UPDATE status_check SET card_error = ?, updated_at = ? WHERE id = ?')
      .run(error, at.toISOString(), id);
  }

  /** Checks waiting for a decision, newest first. */
  pendingChecks(limit: number): Check[] {
    const rows = this.#prepare(`SELECT * FROM status_check WHERE state = 'pending' ORDER BY id DESC LIMIT ?`)
      .all(limit) as CheckRow[];
    return rows.map((r) => this.#toCheck(r));
  }

  /**
   * How many checks wait, by what chooses their rule (project, target branch, escalated): who
   * may decide them is known per group, without reading every pending check.
   */
  pendingByRule(): Array<{ projectPath: string; targetBranch: string; escalated: boolean; count: number }> {
    return (
      this.#prepare(
        `SELECT project_path, target_branch, escalated_at IS NOT NULL AS escalated, count(*) AS n FROM status_check
         WHERE state = 'pending' GROUP BY project_path, target_branch, escalated_at IS NOT NULL`,
      ).all() as Array<{ project_path: string; target_branch: string; escalated: number; n: number }>
    ).map((r) => ({ projectPath: r.project_path, targetBranch: r.target_branch, escalated: r.escalated === 1, count: r.n }));
  }

  countPending(): number {
    return (this.#prepare(`SELECT count(*) AS n FROM status_check WHERE state = 'pending'`).get() as { n: number }).n;
  }


  /**
   * One page of the web list. Pending checks alone come newest first by number, which a vote
   * or a card update does not change; any other selection comes most recently changed first.
   * Keyset paging: `after` is the last row of the previous page, so a page costs the same
   * however deep it is.
   */
  pageOfChecks(filter: CheckFilter): { checks: Check[]; next: CheckCursor | null } {
    const byNumber = filter.states?.length === 1 && filter.states[0] === 'pending';
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit + 1 };
    if (filter.states) where.push(stateTerm(filter.states, params));
    if (filter.q) where.push(this.#search(filter.q, params));
    if (filter.after) {
      params.afterId = filter.after.id;
      if (byNumber) where.push('id < @afterId');
      else {
        params.afterAt = filter.after.updatedAt ?? '';
        where.push('(updated_at < @afterAt OR (updated_at = @afterAt AND id < @afterId))');
      }
    }
    const rows = this.#prepare(
        `SELECT * FROM status_check ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ${byNumber ? 'id DESC' : 'updated_at DESC, id DESC'} LIMIT @limit`,
      )
      .all(params) as CheckRow[];
    const more = rows.length > filter.limit;
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      checks: page.map((r) => this.#toCheck(r)),
      next: more && last ? { id: last.id, updatedAt: byNumber ? null : last.updated_at } : null,
    };
  }

  /** How many checks match a filter (without paging). */
  countChecks(filter: Omit<CheckFilter, 'after' | 'limit'>): number {
    // Without words to find, the counts kept per state answer at once.
    if (!filter.q) {
      const states = filter.states ?? ALL_STATES;
      const params = Object.fromEntries(states.map((state, i) => [`state${i}`, state]));
      const sql = `SELECT coalesce(sum(n), 0) AS n FROM check_count WHERE state IN (${states.map((_, i) => `@state${i}`).join(', ')})`;
      return (this.#prepare(sql).get(params) as { n: number }).n;
    }
    const params: Record<string, unknown> = {};
    const where: string[] = [];
    if (filter.states) where.push(stateTerm(filter.states, params));
    if (filter.q) where.push(this.#search(filter.q, params));
    const sql = `SELECT count(*) AS n FROM status_check ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    return (this.#prepare(sql).get(params) as { n: number }).n;
  }

  /**
   * Words to find in a project, title, branch or author; `!128` or `128` is a merge request,
   * `group/project!128` one of that project.
   */
  #search(q: string, params: Record<string, unknown>): string {
    const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const mr = /^(.*?)!(\d{1,9})$/.exec(q);
    if (mr) {
      params.qIid = Number(mr[2]);
      params.qProject = like(mr[1] ?? '');
      return `(merge_request_iid = @qIid AND project_path LIKE @qProject ESCAPE '\\')`;
    }
    params.q = like(q);
    params.qIid = /^\d{1,9}$/.test(q) ? Number(q) : -1;
    return `(merge_request_iid = @qIid OR ${['project_path', 'merge_request_title', 'source_branch', 'target_branch', 'commit_author', 'triggered_by', 'decided_by_name']
      .map((column) => `${column} LIKE @q ESCAPE '\\'`)
      .join(' OR ')})`;
  }

  /** Changes whenever any check is added or changes: an open web list compares it to refresh. */
  changeMark(): string {
    // Two subqueries: with both aggregates in one SELECT, SQLite reads every row instead of one index end each.
    const row = this.#prepare('SELECT (SELECT max(updated_at) FROM status_check) AS at, (SELECT max(id) FROM status_check) AS id').get() as {
      at: string | null;
      id: number | null;
    };
    return `${row.id ?? 0}.${row.at ?? ''}`;
  }

  decisionsOf(checkId: number): Array<{ outcome: Outcome; actorId: string; actorName: string; via: Via; reason: string | null; sha: string; decidedAt: Date }> {
    const rows = this.#prepare('SELECT * FROM decision WHERE check_id = ? ORDER BY id')
      .all(checkId) as Array<{ outcome: Outcome; actor_id: string; actor_name: string; via: Via; reason: string | null; sha: string; decided_at: string }>;
    return rows.map((r) => ({
      outcome: r.outcome,
      actorId: r.actor_id,
      actorName: r.actor_name,
      via: r.via,
      reason: r.reason,
      sha: r.sha,
      decidedAt: new Date(r.decided_at),
    }));
  }

  // --- reconciliation: what the bot holds, to compare with GitLab's view -------------------

  /** Every project the bot has received a call for. */
  knownProjects(): number[] {
    return (this.#prepare('SELECT DISTINCT project_id FROM status_check ORDER BY project_id').all() as Array<{ project_id: number }>).map((r) => r.project_id);
  }

  /** The GitLab status check ids the bot has seen in calls for a project. */
  statusCheckIdsSeen(projectId: number): number[] {
    return (
      this.#prepare('SELECT DISTINCT external_status_check_id AS id FROM status_check WHERE project_id = ?').all(projectId) as Array<{ id: number }>
    ).map((r) => r.id);
  }

  /** Every stored check of one merge request (all status checks, all commits), oldest first. */
  checksOfMergeRequest(projectId: number, mergeRequestIid: number): Check[] {
    const rows = this.#prepare('SELECT * FROM status_check WHERE project_id = ? AND merge_request_iid = ? ORDER BY id')
      .all(projectId, mergeRequestIid) as CheckRow[];
    return rows.map((r) => this.#toCheck(r));
  }

  /** The merge requests of a project that have a check waiting for a decision. */
  mergeRequestsWaiting(projectId: number): number[] {
    return (
      this.#prepare(`SELECT DISTINCT merge_request_iid AS iid FROM status_check WHERE project_id = ? AND state = 'pending' ORDER BY iid`)
        .all(projectId) as Array<{ iid: number }>
    ).map((r) => r.iid);
  }

  // --- reminders and escalation (durable: a restart neither loses nor doubles them) --------

  /** Schedules (or moves) the reminder or escalation of a check. */
  scheduleNudge(checkId: number, kind: Nudge, dueAt: number): void {
    this.#prepare('INSERT INTO nudge (check_id, kind, due_at) VALUES (?, ?, ?) ON CONFLICT (check_id, kind) DO UPDATE SET due_at = excluded.due_at')
      .run(checkId, kind, dueAt);
  }

  dueNudges(nowMs: number, limit: number): Array<{ id: number; checkId: number; kind: Nudge; dueAt: number }> {
    return (
      this.#prepare('SELECT id, check_id, kind, due_at FROM nudge WHERE due_at <= ? ORDER BY due_at, id LIMIT ?').all(nowMs, limit) as Array<{
        id: number;
        check_id: number;
        kind: Nudge;
        due_at: number;
      }>
    ).map((r) => ({ id: r.id, checkId: r.check_id, kind: r.kind, dueAt: r.due_at }));
  }

  nudgesOf(checkId: number): Array<{ kind: Nudge; dueAt: number }> {
    return (this.#prepare('SELECT kind, due_at FROM nudge WHERE check_id = ? ORDER BY kind').all(checkId) as Array<{ kind: Nudge; due_at: number }>).map((r) => ({
      kind: r.kind,
      dueAt: r.due_at,
    }));
  }

  moveNudge(id: number, dueAt: number): void {
    this.#prepare('UPDATE nudge SET due_at = ? WHERE id = ?').run(dueAt, id);
  }

  dropNudge(id: number): void {
    this.#prepare('DELETE FROM nudge WHERE id = ?').run(id);
  }

  /** The check waits anew (reopened, re-gated): its backup approvers wait for a new escalation. */
  clearEscalation(checkId: number): void {
    this.#prepare('UPDATE status_check SET escalated_at = NULL WHERE id = ?').run(checkId);
  }

  markEscalated(checkId: number, at: Date): void {
    this.#prepare('UPDATE status_check SET escalated_at = ?, updated_at = ? WHERE id = ?').run(at.toISOString(), at.toISOString(), checkId);
  }

  // --- the audit trail (append-only: triggers refuse updates and deletes) -----------------

  audit(event: AuditInput, at: Date): void {
    this.#prepare('INSERT INTO audit_event (at, check_id, event, actor, via, sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(at.toISOString(), event.checkId, event.event, event.actor ?? null, event.via ?? null, event.sha ?? null, event.detail ?? null);
  }

  /**
   * Events in a time range (inclusive from, exclusive to), oldest first; of one check when
   * `checkId` is given (read through that check's index, however long the whole trail is).
   * `after` is the last event of the previous batch: an export reads batch by batch, so no
   * statement stays open while the response waits for a slow client.
   */
  auditEvents(range: AuditRange): AuditEvent[] {
    const one = range.checkId === undefined ? '' : 'check_id = @checkId AND ';
    const after = range.after ? ' AND (at > @afterAt OR (at = @afterAt AND id > @afterId))' : '';
    const rows = this.#prepare(`SELECT * FROM audit_event WHERE ${one}at >= @from AND at < @to${after} ORDER BY at, id LIMIT @limit`).all({
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      limit: range.limit,
      ...(range.checkId === undefined ? {} : { checkId: range.checkId }),
      ...(range.after ? { afterAt: range.after.at.toISOString(), afterId: range.after.id } : {}),
    }) as AuditRow[];
    return rows.map(toAuditEvent);
  }

  // --- clicks taken in, not yet decided --------------------------------------------------

  takeRequest(checkId: number, outcome: Outcome, actor: Actor, reason: string | null, at: Date, breakGlass = false): number {
    return Number(
      this.#prepare('INSERT INTO decision_request (check_id, outcome, actor, reason, received_at, break_glass) VALUES (?, ?, ?, ?, ?, ?)')
        .run(checkId, outcome, JSON.stringify(actor), reason, at.toISOString(), breakGlass ? 1 : 0).lastInsertRowid,
    );
  }

  settleRequest(id: number): void {
    this.#prepare('DELETE FROM decision_request WHERE id = ?').run(id);
  }

  openRequests(): Array<{ id: number; checkId: number; outcome: Outcome; actor: Actor; reason: string | null; breakGlass: boolean }> {
    const rows = this.#prepare('SELECT * FROM decision_request ORDER BY id').all() as Array<{
      id: number;
      check_id: number;
      outcome: Outcome;
      actor: string;
      reason: string | null;
      break_glass: number;
    }>;
    return rows.map((r) => ({ id: r.id, checkId: r.check_id, outcome: r.outcome, actor: JSON.parse(r.actor) as Actor, reason: r.reason, breakGlass: r.break_glass === 1 }));
  }

  // --- the Slack Home tab ------------------------------------------------------------------

  /** A person opened the app's Home tab: refresh it after decisions from now on. */
  homeOpened(userId: string, at: Date): void {
    this.#prepare('INSERT INTO home_tab (user_id, opened_at) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET opened_at = excluded.opened_at')
      .run(userId, at.toISOString());
  }

  /** People who opened the Home tab since `since`. */
  homeViewers(since: Date): string[] {
    return (this.#prepare('SELECT user_id FROM home_tab WHERE opened_at >= ? ORDER BY user_id').all(since.toISOString()) as Array<{ user_id: string }>).map(
      (r) => r.user_id,
    );
  }

  homeViewHash(userId: string): string | null {
    return (this.#prepare('SELECT view_hash FROM home_tab WHERE user_id = ?').get(userId) as { view_hash: string | null } | undefined)?.view_hash ?? null;
  }

  setHomeViewHash(userId: string, hash: string): void {
    this.#prepare('UPDATE home_tab SET view_hash = ? WHERE user_id = ?').run(hash, userId);
  }

  /** One person's most recent decisions (votes), newest first, with the check each was on. */
  decisionsBy(via: Via, actorId: string, limit: number): Array<{ check: Check; outcome: Outcome; decidedAt: Date }> {
    const rows = this.#prepare(
        `SELECT c.*, d.outcome AS voted, d.decided_at AS voted_at FROM decision d JOIN status_check c ON c.id = d.check_id
         WHERE d.via = ? AND d.actor_id = ? ORDER BY d.id DESC LIMIT ?`,
      )
      .all(via, actorId, limit) as Array<CheckRow & { voted: Outcome; voted_at: string }>;
    return rows.map((r) => ({ check: this.#toCheck(r), outcome: r.voted, decidedAt: new Date(r.voted_at) }));
  }

  /** Pending checks whose newest commit this e-mail wrote, oldest first. */
  pendingAuthoredBy(email: string, limit: number): Check[] {
    const rows = this.#prepare(`SELECT * FROM status_check WHERE state = 'pending' AND lower(commit_author_email) = lower(?) ORDER BY id LIMIT ?`)
      .all(email, limit) as CheckRow[];
    return rows.map((r) => this.#toCheck(r));
  }

  // --- deliveries (the outbox) ---------------------------------------------------------

  /** Queues an effect on its kind's lane. */
  enqueue(checkId: number, effect: Effect, at: Date): void {
    const { kind, payload } = encodeEffect(effect);
    this.#prepare(
        `INSERT INTO delivery (check_id, lane, kind, payload, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(checkId, LANE_OF[kind], kind, payload, at.getTime(), at.toISOString());
  }

  /** Whether a delivery of this kind still waits for the check. */
  hasPendingDelivery(checkId: number, kind: EffectKind): boolean {
    return (
      this.#prepare(`SELECT 1 FROM delivery WHERE check_id = ? AND kind = ? AND state = 'pending' LIMIT 1`)
        .get(checkId, kind) !== undefined
    );
  }

  /**
   * The next delivery due on a lane. A delivery waits while an older one for the same check
   * and lane is still pending, so a card is never updated before it was posted.
   */
  nextDue(lane: Lane, nowMs: number): Delivery | UnreadableDelivery | null {
    const row = this.#prepare(
        `SELECT d.* FROM delivery d
         WHERE d.lane = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
           AND NOT EXISTS (SELECT 1 FROM delivery e
                           WHERE e.check_id = d.check_id AND e.lane = d.lane
                             AND e.state = 'pending' AND e.id < d.id)
         ORDER BY d.next_attempt_at, d.id LIMIT 1`,
      )
      .get(lane, nowMs) as DeliveryRow | undefined;
    return row ? toDelivery(row) : null;
  }

  /**
   * When the earliest pending delivery of a lane that `nextDue` may pick is due (ms since
   * epoch), or null. One waiting behind an older delivery of its check does not count: it is
   * due when that one is done, and counting it would wake the lane over and over meanwhile.
   */
  earliestDue(lane: Lane): number | null {
    const row = this.#prepare(
        `SELECT min(d.next_attempt_at) AS at FROM delivery d
         WHERE d.lane = ? AND d.state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM delivery e
                           WHERE e.check_id = d.check_id AND e.lane = d.lane
                             AND e.state = 'pending' AND e.id < d.id)`,
      )
      .get(lane) as { at: number | null };
    return row.at;
  }

  /** A delivered effect leaves the outbox. */
  delivered(id: number): void {
    this.#prepare('DELETE FROM delivery WHERE id = ?').run(id);
  }

  /** A failure worth another try later. */
  reschedule(id: number, nextAttemptAt: number, error: string): void {
    this.#prepare('UPDATE delivery SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?')
      .run(nextAttemptAt, error, id);
  }

  /** Waits for its turn (a paced channel): not an attempt, and no error. */
  defer(id: number, nextAttemptAt: number): void {
    this.#prepare('UPDATE delivery SET next_attempt_at = ? WHERE id = ?').run(nextAttemptAt, id);
  }

  /** A failure no retry will fix: kept, visible, no longer tried. */
  giveUp(id: number, error: string): void {
    if (!this.#db.inTransaction) return this.transaction(() => this.giveUp(id, error));
    this.#prepare(`UPDATE delivery SET attempts = attempts + 1, state = 'failed', last_error = ? WHERE id = ?`)
      .run(error, id);
  }

  deliveryStats(nowMs: number): DeliveryStats {
    const row = this.#prepare(
        `SELECT sum(state = 'pending') AS pending, sum(state = 'failed') AS failed,
           min(CASE WHEN state = 'pending' THEN created_at END) AS oldest
         FROM delivery`,
      )
      .get() as { pending: number | null; failed: number | null; oldest: string | null };
    return {
      pending: row.pending ?? 0,
      failed: row.failed ?? 0,
      oldestPendingMs: row.oldest ? Math.max(0, nowMs - Date.parse(row.oldest)) : 0,
    };
  }
}
