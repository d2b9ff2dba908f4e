import type { Check, CheckState, MergeRequestEvent, Outcome } from './check.js';

/**
 * What receiving a status-check call changes, given the checks already stored for the same
 * merge request and GitLab check. Pure: the caller applies the plan in one transaction.
 */
export interface ReceiptPlan {
  /** Create a row for this commit (false when it exists already). */
  create: boolean;
  /** State of the row for this commit after receipt. */
  state: CheckState;
  /** Put the existing row for this commit back to pending (closed or superseded before): a fresh card. */
  reopen: boolean;
  /** Older open checks and what they become. */
  retire: Array<{ id: number; to: Extract<CheckState, 'superseded' | 'closed' | 'merged'> }>;
  /** The commit of the newest older check, for a compare link on the new card. */
  previousSha: string | null;
  /**
   * The call is older than one already seen for this merge request (GitLab retried it late):
   * it is recorded, but changes nothing that a newer call decided.
   */
  late: boolean;
}

export function planReceipt(event: MergeRequestEvent, known: readonly Check[]): ReceiptPlan {
  const same = known.find((c) => c.sha === event.sha);
  const others = known.filter((c) => c.sha !== event.sha);
  const newest = Math.max(0, ...known.map((c) => c.updatedAt?.getTime() ?? 0));
  if (event.updatedAt !== null && event.updatedAt.getTime() < newest) {
    return { create: !same, state: same ? same.state : 'superseded', reopen: false, retire: [], previousSha: null, late: true };
  }
  const ended = event.mergeRequestState === 'closed' || event.mergeRequestState === 'merged';

  if (ended) {
    const to: 'merged' | 'closed' = event.mergeRequestState === 'merged' ? 'merged' : 'closed';
    const retire = known.filter((c) => c.state === 'pending').map((c) => ({ id: c.id, to }));
    return { create: !same, state: same && same.state !== 'pending' ? same.state : to, reopen: false, retire, previousSha: null, late: false };
  }

  // Opened (or locked, which GitLab uses briefly while merging): the newest commit waits.
  const retire = others.filter((c) => c.state === 'pending').map((c) => ({ id: c.id, to: 'superseded' as const }));
  const newestOther = [...others].sort((a, b) => b.id - a.id)[0];
  const previousSha = same ? same.previousSha : (newestOther?.sha ?? null);
  if (!same) return { create: true, state: 'pending', reopen: false, retire, previousSha, late: false };
  // The commit GitLab names is the HEAD, so a check of it that ended undecided waits again:
  // the merge request was reopened, or the branch was reset to this commit. (A late call about
  // an older commit revives it too, and the next call about the HEAD sets that right.)
  const reopen = same.state === 'closed' || same.state === 'superseded';
  return { create: false, state: reopen ? 'pending' : same.state, reopen, retire, previousSha, late: false };
}

/** Whether a check still needs its card: not once it ended before anyone decided. */
export function needsCard(check: Pick<Check, 'state'>): boolean {
  return check.state !== 'superseded' && check.state !== 'closed' && check.state !== 'merged';
}

export type Refusal =
  | { code: 'not_pending'; message: string }
  | { code: 'not_allowed'; message: string }
  | { code: 'comment_required'; message: string };

/** Whether this check can take a decision now; the reason in the users' words when not. */
export function refuseDecision(check: Check): Refusal | null {
  const what = `${check.projectPath}!${check.mergeRequestIid}`;
  switch (check.state) {
    case 'pending':
      return null;
    case 'approved':
    case 'rejected':
    case 'stale': {
      // A stale check no longer says which way it went (a rejection can be refused too).
      const verb = check.state === 'stale' ? 'decided' : check.state;
      const by = check.decidedByName ?? check.decidedBy ?? 'someone';
      return { code: 'not_pending', message: `${what} was already ${verb} by ${by}.` };
    }
    case 'superseded':
      return { code: 'not_pending', message: `${what}: this commit was superseded by a newer push. Decide on the newest card.` };
    case 'closed':
      return { code: 'not_pending', message: `${what} was closed; there is nothing to decide.` };
    case 'merged':
      return { code: 'not_pending', message: `${what} was merged already; there is nothing to decide.` };
  }
}

/** The most characters of a reason we keep and show: a GitLab note, not an essay. */
export const MAX_REASON_LENGTH = 2000;

export function normaliseReason(reason: string | null | undefined): string | null {
  const trimmed = (reason ?? '').trim();
  return trimmed === '' ? null : trimmed.slice(0, MAX_REASON_LENGTH);
}

/**
 * A rule that asks approvers for a comment takes no approval without one: blanks are no
 * comment. One place for every channel (Slack, the web list, a click settled after a restart).
 */
export function refuseMissingComment(rule: { name: string; approveWithComment: boolean }, outcome: Outcome, reason: string | null | undefined): Refusal | null {
  if (outcome !== 'approve' || !rule.approveWithComment || normaliseReason(reason) !== null) return null;
  return {
    code: 'comment_required',
    message: `The rule for this check (“${rule.name}”) asks for a comment with each approval, and it is posted on the merge request. Write one and approve again; nothing was recorded.`,
  };
}
