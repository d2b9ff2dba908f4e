/**
 * A status check as the approvers see it: one merge request, one GitLab external status
 * check, one commit. Nothing here knows about Slack, GitLab's wire format, HTTP or SQL.
 */

/** Where a check stands. Only `pending` accepts a decision. */
export type CheckState =
  | 'pending' // waiting for a person
  | 'approved'
  | 'rejected'
  | 'superseded' // a newer commit was pushed before anyone decided
  | 'closed' // the merge request was closed before anyone decided
  | 'merged' // the merge request was merged before anyone decided
  | 'stale'; // decided, but GitLab refused the report because HEAD had moved on

/** Whether the decision has reached GitLab. */
export type ReportState = 'none' | 'sending' | 'reported' | 'failed';

export type Outcome = 'approve' | 'reject';

/** Whether a value from outside (a URL segment, a button) names an outcome. Own values only: never the object prototype. */
export const isOutcome = (value: unknown): value is Outcome => value === 'approve' || value === 'reject';
export type Via = 'slack' | 'web';

/** What GitLab tells us about a merge request when it calls the check. */
export interface MergeRequestEvent {
  projectId: number;
  projectPath: string;
  projectUrl: string;
  mergeRequestIid: number;
  title: string;
  url: string;
  sourceBranch: string;
  targetBranch: string;
  sha: string;
  statusCheckId: number;
  statusCheckName: string;
  /** Who wrote the newest commit, as GitLab reports it. */
  commitAuthor: string | null;
  /** That commit author's e-mail, when GitLab sent one. */
  commitAuthorEmail?: string | null;
  /** Who triggered this call (pushed, edited, reopened ...). */
  triggeredBy: string | null;
  mergeRequestState: 'opened' | 'closed' | 'merged' | 'locked';
  draft: boolean;
  /** When GitLab last changed the merge request (tells a late call from a new one). */
  updatedAt: Date | null;
}

export interface Check extends MergeRequestEvent {
  id: number;
  state: CheckState;
  receivedAt: Date;
  /** The commit of the check this one superseded, for a compare link. */
  previousSha: string | null;
  decidedBy: string | null;
  decidedByName: string | null;
  decidedVia: Via | null;
  decidedAt: Date | null;
  reason: string | null;
  report: ReportState;
  reportError: string | null;
  reportedAt: Date | null;
  slackChannel: string | null;
  slackTs: string | null;
  cardError: string | null;
  /** Distinct approvals that pass this check (from the rule that governs it). */
  approvalsRequired: number;
  ruleName: string | null;
  /** Approvals of this commit so far, one per person, oldest first. */
  approvals: Approval[];
  /** When the rule's escalate_to people were told; from then on they may decide it too. */
  escalatedAt?: Date | null;
}

export interface Approval {
  by: string;
  name: string;
  via: Via;
  at: Date;
}

/** A person deciding, in the words of the surface they decided on. */
export interface Actor {
  via: Via;
  /** Slack user ID for Slack, the signed-in user name for the web list. */
  id: string;
  /** What to show: a display name or user name. */
  name: string;
  /** Known e-mail (GitLab sign-in); Slack e-mails are looked up when a rule needs them. */
  email?: string | null;
  /** GitLab username, when signed in with GitLab. */
  gitlabUsername?: string | null;
  /** GitLab's numeric user id, when signed in with GitLab. */
  gitlabUserId?: number | null;
  /** How a web user signed in: with GitLab, or with a WEB_USERS name and password. */
  login?: 'gitlab' | 'password';
}

export const shortSha = (sha: string): string => sha.slice(0, 8);

/** The status GitLab is told for an outcome. */
export const gitlabStatus = (outcome: Outcome): 'passed' | 'failed' =>
  outcome === 'approve' ? 'passed' : 'failed';
