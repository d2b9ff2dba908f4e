import { gitlabStatus, type Check, type CheckState, type MergeRequestEvent, type Outcome } from './check.js';
import type { AuthorNoticePayload, ReportPayload } from './effects.js';
import type { ReceiptPlan } from './rules.js';
import { nextReminder, type Nudge, type Reminders } from './schedule.js';

/**
 * How a check moves after it was received: votes, re-gating, GitLab's answers to a report.
 * Pure: the Gate reads what these need, applies the plan in one transaction, and the store
 * only reads and writes rows.
 */

/** What one more approval does to the quorum (see tallyApproval in people.ts). */
export type Tally = 'already_counted' | 'counted' | 'decides';

/**
 * One rejection rejects; an approval decides once enough different people approved.
 * `tally` is asked only for an approval (it reads who approved before).
 */
export function planVote(outcome: Outcome, tally: () => Tally): Tally {
  return outcome === 'reject' ? 'decides' : tally();
}

/** The state a deciding vote leaves the check in. */
export const decidedState = (outcome: Outcome): Extract<CheckState, 'approved' | 'rejected'> => (outcome === 'approve' ? 'approved' : 'rejected');

/** What GitLab is told about a check: its decision, or a withdrawn approval. */
export function reportOf(
  check: Pick<Check, 'projectId' | 'mergeRequestIid' | 'sha' | 'statusCheckId'>,
  status: ReportPayload['status'],
  withdrawal = false,
): ReportPayload {
  const report: ReportPayload = { projectId: check.projectId, mergeRequestIid: check.mergeRequestIid, sha: check.sha, statusCheckId: check.statusCheckId, status };
  return withdrawal ? { ...report, withdrawal: true } : report;
}

/** What follows a vote that was recorded. */
export interface VotePlan {
  /** The decision GitLab is told of; null while the quorum is not met. */
  report: ReportPayload | null;
  audit: 'approved' | 'rejected' | 'approval_counted';
  /** The reason goes on the merge request as a note. */
  note: boolean;
  /** What the author hears of; null when nothing was decided. */
  tellAuthor: Extract<AuthorNoticePayload['about'], 'approved' | 'rejected'> | null;
}

/** A rejection's reason is always a note; an approval's comment only when the rule asks for comments. */
export function planAfterVote(check: Check, outcome: Outcome, result: 'decided' | 'counted', reason: string | null, approveWithComment: boolean): VotePlan {
  const decided = result === 'decided';
  return {
    report: decided ? reportOf(check, gitlabStatus(outcome)) : null,
    audit: decided ? decidedState(outcome) : 'approval_counted',
    note: reason !== null && reason !== '' && (outcome === 'reject' || approveWithComment),
    tellAuthor: decided ? decidedState(outcome) : null,
  };
}

/** Whether another rule (or another quorum) governs the check than the one it was gated by. */
export function ruleChanged(check: Pick<Check, 'ruleName' | 'approvalsRequired'>, rule: { name: string; required: number }): boolean {
  return check.ruleName !== null && (check.ruleName !== rule.name || check.approvalsRequired !== rule.required);
}

/**
 * Re-gating: votes cast under the old rule stop counting. An approval is withdrawn (so is one
 * GitLab refused as stale): the check waits again, GitLab is told it failed, and a fresh card
 * asks the new rule's approvers. A rejection stands, as do ended checks.
 */
export function planRegate(check: Pick<Check, 'state'>): { withdraw: boolean; state: CheckState } {
  const withdraw = check.state === 'approved' || check.state === 'stale';
  return { withdraw, state: withdraw ? 'pending' : check.state };
}

/** What receiving a call about a commit already stored does, beyond keeping its details current. */
export type KnownCommitStep = 'regate' | 'reopen' | 'post_card' | 'update_card' | 'nothing';

/**
 * For the check of the commit GitLab named (it exists, and the call is not late): a changed
 * rule re-gates it; one that ended undecided waits again; one whose card was never posted
 * (a draft made ready, a card Slack refused) gets it; changed details redraw the card.
 * GitLab's Retry (the same commit again, same rule) also resends a decision GitLab refused.
 */
export function planKnownCommit(
  same: Check,
  event: MergeRequestEvent,
  plan: Pick<ReceiptPlan, 'reopen' | 'state'>,
  rule: { name: string; required: number },
  card: { due: boolean; queued: boolean },
): { step: KnownCommitStep; resend: boolean } {
  const resend = same.ruleName === rule.name && same.approvalsRequired === rule.required;
  if (ruleChanged(same, rule)) return { step: 'regate', resend };
  if (plan.reopen) return { step: 'reopen', resend };
  if (plan.state === 'pending' && same.slackTs === null && card.due && !card.queued) return { step: 'post_card', resend };
  const changed = same.title !== event.title || same.targetBranch !== event.targetBranch || same.draft !== event.draft;
  return { step: changed ? 'update_card' : 'nothing', resend };
}

/** Whether a decision GitLab refused for good is worth reporting again (a token that works again heals it). */
export function canReportAgain(check: Pick<Check, 'state' | 'report'>): boolean {
  return (check.state === 'approved' || check.state === 'rejected') && check.report === 'failed';
}

/** Whether there is, or will be, a card to update. */
export function hasCard(check: Pick<Check, 'slackTs'>, postQueued: boolean): boolean {
  return check.slackTs !== null || postQueued;
}

/** GitLab's answer to a report that did not land. */
export interface ReportFailure {
  message: string;
  /** The HTTP status GitLab answered, when it answered. */
  status?: number;
  /** No retry follows. */
  final: boolean;
  /** Attempts before this one. */
  attempts: number;
}

/** What a failed report changes. */
export interface ReportFailurePlan {
  /** How the check's report (and state) is recorded; null: unchanged. */
  record: { as: 'stale'; error: string } | { as: 'failed'; error: string } | { as: 'sending'; error: string } | null;
  audit: 'withdrawal_failed' | 'report_failed' | 'report_retrying' | null;
  updateCard: boolean;
  /** The author hears that GitLab refused the decision. */
  tellAuthor: boolean;
}

/**
 * A 409 makes a check stale: the merge request's HEAD moved on, so the decision is about a
 * commit GitLab no longer asks about. Other refusals leave the decision standing with a
 * failed report. A retry is said on the card once; later ones only in the audit trail and logs.
 * A withdrawal that fails leaves the approval standing in GitLab, except after a push (409),
 * when the old approval does not carry over to the new commit anyway.
 */
export function planReportFailure(report: Pick<ReportPayload, 'withdrawal'>, failure: ReportFailure): ReportFailurePlan {
  const none: ReportFailurePlan = { record: null, audit: null, updateCard: false, tellAuthor: false };
  if (report.withdrawal) {
    if (!failure.final) return none;
    if (failure.status === 409) return { ...none, audit: 'withdrawal_failed' };
    return { record: { as: 'failed', error: `The approval could not be withdrawn in GitLab: ${failure.message}` }, audit: 'withdrawal_failed', updateCard: true, tellAuthor: false };
  }
  if (!failure.final) {
    const record = { as: 'sending' as const, error: failure.message };
    return failure.attempts > 0 ? { ...none, record } : { record, audit: 'report_retrying', updateCard: true, tellAuthor: false };
  }
  const record = failure.status === 409 ? { as: 'stale' as const, error: failure.message } : { as: 'failed' as const, error: failure.message };
  return { record, audit: 'report_failed', updateCard: true, tellAuthor: true };
}

/** What a reminder or escalation that fell due does. */
export type NudgePlan =
  /** Nothing to say: the check was decided or ended, or its rule asks for reminders no more. */
  | { send: false }
  /** Send it; an escalation also marks the check escalated. `next`: when the reminder is due again, null for never. */
  | { send: true; escalate: boolean; next: number | null };

/**
 * A nudge that fell due: only a pending check whose rule still asks for reminders gets it.
 * An escalation comes once; a reminder comes again after the rule's interval, if it has one.
 */
export function planNudge(kind: Nudge, check: Pick<Check, 'state'> | null, reminders: Reminders | null | undefined, nowMs: number): NudgePlan {
  if (!check || check.state !== 'pending' || !reminders) return { send: false };
  if (kind === 'escalate') return { send: true, escalate: true, next: null };
  return { send: true, escalate: false, next: nextReminder(nowMs, reminders) };
}

/** Whether a check gets its card now: a draft waits until it is marked ready, when DRAFT_CARDS=wait. */
export function cardDueNow(event: Pick<MergeRequestEvent, 'draft'>, draftCards: 'wait' | 'post'): boolean {
  return !(event.draft && draftCards === 'wait');
}
