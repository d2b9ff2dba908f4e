import type { Actor, Check, Outcome } from './check.js';

/**
 * Every effect the outbox carries, as one closed list: a kind and what its delivery needs.
 * Written in the same transaction as its cause, delivered later (domain terms only; the
 * adapters decide how each is sent).
 */

/** What the GitLab lane delivers: exactly what was decided, fixed at decision time. */
export interface ReportPayload {
  projectId: number;
  mergeRequestIid: number;
  sha: string;
  statusCheckId: number;
  /**
   * `failed` also withdraws an approval (the rule changed): it blocks the merge on every
   * GitLab version, where `pending` is refused before 16.5 and times out into failed later.
   */
  status: 'passed' | 'failed' | 'pending';
  /** Withdraws an approval after the rule changed: the check waits again, so this is no decision of it. */
  withdrawal?: boolean;
}

/** A comment for the merge request's author: a rejection's reason, an approval's comment. */
export interface NotePayload {
  projectId: number;
  mergeRequestIid: number;
  body: string;
}

/** What the notes the bot leaves on a merge request say (rendered by the GitLab adapter, written into the note's payload). */
export interface NoteTexts {
  /** A rejection's reason, or an approval's comment. */
  decision(check: Check, outcome: Outcome, actor: Actor, reason: string): string;
  /** An emergency approval during a freeze. */
  breakGlass(check: Check, actor: Actor, freeze: string, reason: string): string;
  /** Why GitLab now shows the check failed although someone had approved it. */
  withdrawal(check: Check, rule: { name: string; required: number }): string;
}

/** What a merge request's author is told by direct message, and why. */
export interface AuthorNoticePayload {
  about: 'approved' | 'rejected' | 'regated' | 'report_refused';
}

/** Whose Slack Home tab to draw again. */
export interface HomeRefreshPayload {
  userId: string;
}

/** What a reminder or escalation message needs: how long the check has waited. */
export interface NudgePayload {
  waitedMs: number;
}

/** Told to the escalation channel when someone approves during a freeze. */
export interface BreakGlassNotice {
  channel: string;
  freeze: string;
  by: string;
  via: Actor['via'];
  reason: string;
}

/** Each kind of effect and what it carries. A kind's name is what the outbox row stores. */
export interface EffectPayloads {
  /** The check's card, posted to its rule's channel. */
  post_card: null;
  /** The card drawn again from the check as it is now. */
  update_card: null;
  /** A decision (or a withdrawn approval) reported to GitLab. */
  report: ReportPayload;
  /** A comment on the merge request. */
  note: NotePayload;
  /** A reminder in the card's thread. */
  remind: NudgePayload;
  /** The escalation message to the backup approvers. */
  escalate: NudgePayload;
  /** The escalation channel hears of an emergency approval. */
  break_glass_notice: BreakGlassNotice;
  /** A direct message to the merge request's author. */
  notify_author: AuthorNoticePayload;
  /** An open Slack Home tab drawn again. */
  refresh_home: HomeRefreshPayload;
}

export type EffectKind = keyof EffectPayloads;

/** One effect: its kind and its payload, checked together. */
export type EffectOf<K extends EffectKind> = { kind: K; payload: EffectPayloads[K] };
export type Effect = { [K in EffectKind]: EffectOf<K> }[EffectKind];

/** The outbox delivers each lane on its own, so a GitLab outage does not hold back cards. */
export type Lane = 'slack' | 'gitlab';

/** Which lane delivers each kind: cards and their follow-ups in order on Slack's, reports on GitLab's. */
export const LANE_OF = {
  post_card: 'slack',
  update_card: 'slack',
  report: 'gitlab',
  note: 'gitlab',
  remind: 'slack',
  escalate: 'slack',
  break_glass_notice: 'slack',
  notify_author: 'slack',
  refresh_home: 'slack',
} as const satisfies Record<EffectKind, Lane>;

export const EFFECT_KINDS = Object.keys(LANE_OF) as EffectKind[];

export function isEffectKind(kind: string): kind is EffectKind {
  return Object.hasOwn(LANE_OF, kind);
}
