import type { Check } from './check.js';

/** A status check on a merge request, as GitLab's API shows it for the current HEAD. */
export interface ListedStatusCheck {
  id: number;
  name: string;
  externalUrl: string;
  status: string;
}

/** What GitLab's API says of one merge request. */
export interface MergeRequestView {
  state: 'opened' | 'closed' | 'merged' | 'locked';
  /** The HEAD of the source branch; null for a merge request without a diff head. */
  sha: string | null;
  statusChecks: ListedStatusCheck[];
}

export type Repair =
  /** GitLab never told the bot about this HEAD: create the check as if it had called. */
  | { kind: 'created'; statusCheckId: number; statusCheckName: string }
  /** A decision GitLab never accepted: report it again. */
  | { kind: 'rereported'; checkId: number }
  /** A check that waits for a merge request that was merged or closed: retire it. */
  | { kind: 'retired'; statusCheckId: number; statusCheckName: string };

/**
 * Which status checks are the bot's: one whose id the bot has seen in a call for the project,
 * or whose URL points at the bot.
 */
export function isOurs(check: ListedStatusCheck, seenIds: ReadonlySet<number>, ourUrl: string | null): boolean {
  return seenIds.has(check.id) || (ourUrl !== null && check.externalUrl.replace(/\/+$/, '') === ourUrl);
}

/**
 * What to repair for one merge request, given GitLab's view and the checks the bot holds for
 * it (any status check, any commit). Pure: the caller applies each repair through the same
 * paths as a call from GitLab or a click.
 */
export function planRepairs(view: MergeRequestView, known: readonly Check[], seenIds: ReadonlySet<number>, ourUrl: string | null): Repair[] {
  const repairs: Repair[] = [];
  if (view.state === 'merged' || view.state === 'closed') {
    const waiting = new Map<number, string>();
    for (const c of known) if (c.state === 'pending') waiting.set(c.statusCheckId, c.statusCheckName);
    for (const [statusCheckId, statusCheckName] of waiting) repairs.push({ kind: 'retired', statusCheckId, statusCheckName });
    return repairs;
  }
  if (view.sha === null) return repairs;
  for (const listed of view.statusChecks) {
    if (!isOurs(listed, seenIds, ourUrl)) continue;
    const head = known.find((c) => c.statusCheckId === listed.id && c.sha === view.sha);
    if (!head) {
      repairs.push({ kind: 'created', statusCheckId: listed.id, statusCheckName: listed.name });
      continue;
    }
    const decided = head.state === 'approved' || head.state === 'rejected';
    const wanted = head.state === 'approved' ? 'passed' : 'failed';
    if (decided && head.report === 'failed' && listed.status !== wanted) repairs.push({ kind: 'rereported', checkId: head.id });
  }
  return repairs;
}
