import type { CheckState, Via } from './domain/check.js';
import type { EffectKind, EffectPayloads, Lane } from './domain/effects.js';

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

