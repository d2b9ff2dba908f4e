import type { types } from '@slack/bolt';

type KnownBlock = types.KnownBlock;
import { shortSha, type Approval, type Check } from '../domain/check.js';
import { escape, fit, link, truncate, when } from './mrkdwn.js';

export const APPROVE_ACTION = 'approve_check';
export const REJECT_ACTION = 'reject_check';
/** Break glass: approve during a freeze, with a reason. Shown only while a freeze holds. */
export const EMERGENCY_APPROVE_ACTION = 'emergency_approve_check';

/** What the card shows beyond the check itself; links are absent when PUBLIC_URL is unknown. */
export interface CardContext {
  /** The freeze holding approvals now (its reason), or null. */
  freeze?: string | null;
  /** Whether the rule names anyone in break_glass: only then is Emergency approve shown. */
  breakGlass?: boolean;
  /** The check's history page on the web list. */
  history?: string | null;
}

export interface Card {
  text: string;
  blocks: KnownBlock[];
}

const commitUrl = (check: Check, sha: string): string => `${check.projectUrl}/-/commit/${sha}`;

/**
 * How much of each piece people or GitLab control a card shows, in characters after escaping.
 * Chosen so every block stays within Block Kit's limits (a section 3000, a field 2000) with
 * every piece at its longest: Slack refuses a card that breaks one, and nobody sees anything.
 */
const FIT = { title: 1200, path: 300, branch: 300, author: 500, statusCheck: 200, name: 100, reason: 1200, error: 1000 } as const;
/** Approvers named on a card; more would crowd the section. */
const NAMED_APPROVERS = 10;

/** Who decided, as a mention for Slack users and a plain name for the web list. */
export function actorLabel(check: Pick<Check, 'decidedBy' | 'decidedByName' | 'decidedVia'>): string {
  if (check.decidedVia === 'slack' && check.decidedBy && /^[UW][A-Z0-9]+$/.test(check.decidedBy)) return `<@${check.decidedBy}>`;
  return `${fit(check.decidedByName ?? check.decidedBy ?? 'someone', FIT.name)} (web)`;
}

function approverLabel(a: Approval): string {
  return actorLabel({ decidedBy: a.by, decidedByName: a.name, decidedVia: a.via });
}

/** How far the check is from passing: "1 of 2 approvals, 1 more needed". */
export function approvalsLine(check: Pick<Check, 'approvals' | 'approvalsRequired' | 'state'>): string {
  const have = check.approvals.length;
  const need = check.approvalsRequired;
  if (check.state !== 'pending') return `${need} approval${need === 1 ? '' : 's'} required`;
  const more = Math.max(0, need - have);
  return `${have} of ${need} approval${need === 1 ? '' : 's'}, ${more} more needed`;
}

function approverList(approvals: readonly Approval[]): string {
  const named = approvals.slice(0, NAMED_APPROVERS).map(approverLabel).join(', ');
  return approvals.length > NAMED_APPROVERS ? `${named} and ${approvals.length - NAMED_APPROVERS} more` : named;
}

/** One line naming the merge request, for lists and fallbacks. */
export function headline(check: Check, titleMax: number = FIT.title): string {
  return `${link(check.url, `${check.projectPath}!${check.mergeRequestIid}`, FIT.path)} ${fit(check.title, titleMax)}`;
}

function plainText(check: Check): string {
  const what = `${check.projectPath}!${check.mergeRequestIid} ${truncate(check.title, 200)} (${shortSha(check.sha)})`;
  // The fallback is what notifications show: it must not say "Approved" when GitLab said no.
  const refused = check.report === 'failed' && check.state !== 'stale' ? ', but GitLab refused the report' : '';
  return escape(`${stateWord(check)}${refused}: ${what}`);
}

function stateWord(check: Check): string {
  const words: Record<Check['state'], string> = {
    pending: 'Approval needed',
    approved: 'Approved',
    rejected: 'Rejected',
    superseded: 'Superseded',
    closed: 'Closed',
    merged: 'Merged',
    stale: 'Not reported (newer commit)',
  };
  return words[check.state];
}

/** What happened to the decision on its way to GitLab. */
function reportLine(check: Check): string {
  const status = check.state === 'approved' ? 'passed' : 'failed';
  switch (check.report) {
    case 'reported':
      return `:white_check_mark: Reported to GitLab: the check is *${status}* for \`${shortSha(check.sha)}\`.`;
    case 'failed':
      return `:warning: *GitLab refused the report*: ${fit(check.reportError ?? 'no reason given', FIT.error)}. The check in GitLab did not change.`;
    case 'sending':
      return check.reportError
        ? `:hourglass_flowing_sand: Not in GitLab yet, retrying: ${fit(check.reportError, FIT.error)}.`
        : ':hourglass_flowing_sand: Reporting to GitLab…';
    case 'none':
      return '';
  }
}

function outcomeBlocks(check: Check, context: CardContext): KnownBlock[] {
  const at = check.decidedAt ? ` at ${when(check.decidedAt)}` : '';
  const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
  switch (check.state) {
    case 'pending':
      return [
        ...(check.approvalsRequired > 1
          ? [section(`:busts_in_silhouette: *${check.approvals.length} of ${check.approvalsRequired} approvals*${check.approvals.length ? `: approved by ${approverList(check.approvals)}` : ''}`)]
          : []),
        {
          type: 'actions',
          block_id: `decide_${check.id}`,
          elements: [
            { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: String(check.id) },
            { type: 'button', action_id: REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value: String(check.id) },
            ...(context.freeze && context.breakGlass ? [{ type: 'button' as const, action_id: EMERGENCY_APPROVE_ACTION, text: { type: 'plain_text' as const, text: 'Emergency approve' }, value: String(check.id) }] : []),
          ],
        },
      ];
    case 'approved':
    case 'rejected': {
      const verb = check.state === 'approved' ? ':large_green_circle: *Approved*' : ':red_circle: *Rejected*';
      // Quoting adds a `>` per line: fitted first, the quote stays within the section.
      const reason = check.reason ? `\n>${fit(check.reason, FIT.reason).replace(/\n/g, '\n>')}` : '';
      const report = reportLine(check);
      // Slack refuses an empty section: no report yet, no line.
      return [section(`${verb} by ${actorLabel(check)}${at}${reason}`), ...(report ? [section(report)] : [])];
    }
    case 'stale':
      return [
        section(
          `:warning: ${check.decidedByName ? `Decided by ${actorLabel(check)}${at}, but n` : 'N'}othing was reported: ` +
            'the merge request has a newer commit, so GitLab refused this decision. Decide on the newest card.',
        ),
      ];
    case 'superseded':
      return [section(':fast_forward: *Superseded* by a newer push before anyone decided. Decide on the newest card.')];
    case 'closed':
      return [section(':no_entry_sign: The merge request was *closed* before anyone decided.')];
    case 'merged':
      return [section(':twisted_rightwards_arrows: The merge request was *merged* before anyone decided.')];
  }
}

/** A freeze, as cards and /pending show it. */
export function freezeLine(reason: string): string {
  return `:snowflake: *Frozen*: ${fit(reason, 300)}. Approvals are refused until it ends; a rejection still counts.`;
}

/** The Slack card of a check, true to its current state. */
export function renderCard(check: Check, context: CardContext = {}): Card {
  const sha = shortSha(check.sha);
  const commit = check.previousSha
    ? `${link(commitUrl(check, check.sha), sha)} (${link(`${check.projectUrl}/-/compare/${check.previousSha}...${check.sha}`, `changes since ${shortSha(check.previousSha)}`)})`
    : link(commitUrl(check, check.sha), sha);
  const fields = [
    `*Project*\n${fit(check.projectPath, FIT.path)}`,
    `*Branches*\n\`${fit(check.sourceBranch, FIT.branch)}\` → \`${fit(check.targetBranch, FIT.branch)}\``,
    `*Commit*\n${commit}`,
    `*Author*\n${fit(check.commitAuthor ?? check.triggeredBy ?? 'unknown', FIT.author)}`,
    `*Status check*\n${fit(check.statusCheckName, FIT.statusCheck)}`,
    `*Received*\n${when(check.receivedAt)}`,
    `*Rule*\n${fit(check.ruleName ?? 'default', 100)}: ${approvalsLine(check)}`,
  ];
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${stateWord(check)}*${check.draft ? ' (draft)' : ''}: ${headline(check)}` } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn' as const, text })) },
  ];
  if (check.state === 'pending') {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'While it waits, the merge request cannot be merged: GitLab shows the check *pending* (or *failed* after 2 minutes on a new merge request). An approval turns it green.',
        },
      ],
    });
  }
  if (check.state === 'pending' && context.freeze) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: freezeLine(context.freeze) } });
  }
  blocks.push(...outcomeBlocks(check, context));
  if (check.state !== 'pending' && context.history) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${link(context.history, 'History of this check')} (who decided, when, what GitLab answered)` }] });
  }
  if (check.cardError) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `:warning: ${fit(check.cardError, FIT.error)}` }] });
  return { text: plainText(check), blocks };
}
