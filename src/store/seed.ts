import Database from 'better-sqlite3';
import { openStore } from './store.js';

/** One seeded check, to read pages and trails at a known place. */
export interface SeededCheck {
  id: number;
  updatedAt: string;
}

export interface Seeded {
  checks: number;
  auditEvents: number;
  pending: number;
  /** A decided check in the middle of the table: a deep page of the web list starts after it. */
  middle: SeededCheck;
}

/** How often a seeded check still waits: about as few as in a team that decides daily. */
const PENDING_EVERY = 1000;
const STATES = ['approved', 'approved', 'approved', 'rejected', 'superseded', 'closed', 'merged', 'stale'] as const;

/**
 * Fills a new database with `rows` checks of fifty projects over the past weeks, each with
 * five audit events (received, card posted, clicked, decided, reported), for the benchmark:
 * one transaction and prepared inserts. Pending checks already have their card. Not for a
 * database in use.
 */
export async function seedDatabase(file: string, rows: number, now: Date): Promise<Seeded> {
  await (await openStore(file)).close();
  const db = new Database(file);
  // A throwaway file: a crash while seeding means seeding again, so no fsync per page.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertCheck = db.prepare(
    `INSERT INTO status_check (id, project_id, project_path, project_url, merge_request_iid, merge_request_title,
       merge_request_url, source_branch, target_branch, sha, external_status_check_id, external_status_check_name,
       commit_author, triggered_by, merge_request_state, draft, state, decided_by, decided_by_name, decided_via,
       decided_at, report_state, reported_at, slack_channel, slack_ts, received_at, updated_at, approvals_required, rule_name)
     VALUES (@id, @projectId, @path, @projectUrl, @iid, @title, @url, 'feature/seed', 'main', @sha, 7, 'Slack approval',
       'Seed Author', 'seed', 'opened', 0, @state, @decidedBy, @decidedByName, @via, @decidedAt, @report, @reportedAt,
       'C0BENCH', @ts, @receivedAt, @updatedAt, 1, 'default')`,
  );
  const insertAudit = db.prepare('INSERT INTO audit_event (at, check_id, event, actor, via, sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const firstId = ((db.prepare('SELECT max(id) AS id FROM status_check').get() as { id: number | null }).id ?? 0) + 1;
  // One check a second, ending now: a million reach back eleven and a half days.
  const start = now.getTime() - rows * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  let pending = 0;
  let middle: SeededCheck = { id: firstId, updatedAt: iso(start) };
  db.transaction(() => {
    for (let i = 0; i < rows; i += 1) {
      const id = firstId + i;
      const received = start + i * 1000;
      const waits = i % PENDING_EVERY === PENDING_EVERY - 1;
      const state = waits ? 'pending' : STATES[i % STATES.length]!;
      const decided = state === 'approved' || state === 'rejected' || state === 'stale';
      const project = 1000 + (i % 50);
      const path = `seed/project-${i % 50}`;
      const sha = id.toString(16).padStart(40, '0');
      const updatedAt = iso(received + 500);
      if (waits) pending += 1;
      insertCheck.run({
        id,
        projectId: project,
        path,
        projectUrl: `https://gitlab.example.com/${path}`,
        iid: i + 1,
        title: `Seeded change ${i + 1}`,
        url: `https://gitlab.example.com/${path}/-/merge_requests/${i + 1}`,
        sha,
        state,
        decidedBy: decided ? 'U0SEED' : null,
        decidedByName: decided ? 'seed approver' : null,
        via: decided ? 'slack' : null,
        decidedAt: decided ? iso(received + 300) : null,
        report: decided ? 'reported' : 'none',
        reportedAt: decided ? iso(received + 400) : null,
        ts: `${Math.floor(received / 1000)}.${String(i % 1_000_000).padStart(6, '0')}`,
        receivedAt: iso(received),
        updatedAt,
      });
      insertAudit.run(iso(received), id, 'received', null, null, sha, null);
      insertAudit.run(iso(received + 100), id, 'card_posted', null, null, sha, 'C0BENCH');
      insertAudit.run(iso(received + 200), id, 'clicked', 'u0seed', 'slack', sha, null);
      insertAudit.run(iso(received + 300), id, decided ? 'approved' : 'refused', 'u0seed', 'slack', sha, decided ? null : 'not one of the approvers');
      insertAudit.run(iso(received + 400), id, decided ? 'reported' : 'reminded', null, null, sha, decided ? 'passed' : null);
      if (i === Math.floor(rows / 2)) middle = { id, updatedAt };
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { checks: rows, auditEvents: rows * 5, pending, middle };
}
