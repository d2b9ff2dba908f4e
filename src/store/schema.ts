import type { Generated } from 'kysely';
import type { CheckState, MergeRequestEvent, Outcome, ReportState, Via } from '../domain/check.js';
import type { Lane } from '../domain/effects.js';
import type { Nudge } from '../domain/schedule.js';

/**
 * The tables as the queries see them, the same on SQLite and PostgreSQL (see migrations.ts):
 * times are ISO-8601 text (they sort and compare as text on both), flags are 0 or 1, and
 * instants the outbox and reminders compare with the clock are milliseconds since the epoch.
 */
export interface Tables {
  status_check: StatusCheckTable;
  decision: DecisionTable;
  delivery: DeliveryTable;
  heartbeat: { id: number; at: string };
  audit_event: AuditEventTable;
  decision_request: DecisionRequestTable;
  home_tab: { user_id: string; opened_at: string; view_hash: string | null };
  nudge: { id: Generated<number>; check_id: number; kind: Nudge; due_at: number };
  account_sighting: { account: string; seen: string; first_seen: string };
  /** Checks per state, spread over shards (migration 13): a state's count is the sum of its rows. */
  check_count: { state: CheckState; shard: number; n: number };
  lease: { name: string; holder: string; until_ms: number };
  shared_key: { name: string; value: string };
}

export interface StatusCheckTable {
  id: Generated<number>;
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
  report_state: Generated<ReportState>;
  report_error: string | null;
  reported_at: string | null;
  slack_channel: string | null;
  slack_ts: string | null;
  card_error: string | null;
  received_at: string;
  updated_at: string;
  approvals_required: Generated<number>;
  rule_name: string | null;
  mr_updated_at: string | null;
  commit_author_email: string | null;
  escalated_at: string | null;
}

export interface DecisionTable {
  id: Generated<number>;
  check_id: number;
  outcome: Outcome;
  actor_id: string;
  actor_name: string;
  via: Via;
  reason: string | null;
  sha: string;
  decided_at: string;
  person: string | null;
  voided: Generated<number>;
  account: string | null;
}

export interface DeliveryTable {
  id: Generated<number>;
  check_id: number;
  lane: Lane;
  kind: string;
  payload: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
  state: Generated<'pending' | 'failed'>;
  created_at: string;
  leased_until: number | null;
  leased_by: string | null;
}

export interface AuditEventTable {
  id: Generated<number>;
  at: string;
  check_id: number | null;
  event: string;
  actor: string | null;
  via: string | null;
  sha: string | null;
  detail: string | null;
}

export interface DecisionRequestTable {
  id: Generated<number>;
  check_id: number;
  outcome: Outcome;
  actor: string;
  reason: string | null;
  received_at: string;
  break_glass: Generated<number>;
}
