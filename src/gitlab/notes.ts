import { shortSha, type Actor, type Check, type Outcome } from '../domain/check.js';
import type { NoteTexts } from '../domain/effects.js';
import { gitlabCode, gitlabQuote, gitlabText } from './markdown.js';

/** The notes the bot leaves on merge requests. */
export const gitlabNotes: NoteTexts = { decision: decisionNote, breakGlass: breakGlassNote, withdrawal: withdrawalNote };

/**
 * A note GitLab renders as Markdown. What people typed (their name, the reason) is quoted as
 * plain text: it mentions nobody, runs no quick action and forges no markup.
 */
export function decisionNote(check: Check, outcome: Outcome, actor: Actor, reason: string): string {
  const verb = outcome === 'approve' ? 'Approved' : 'Rejected';
  const via = actor.via === 'slack' ? 'in Slack' : 'on the approvals web list';
  return `**${verb}** by ${gitlabText(actor.name)} ${via} (status check “${gitlabText(check.statusCheckName)}”, commit ${shortSha(check.sha)}):\n\n${gitlabQuote(reason)}`;
}

/** The note an emergency approval leaves on the merge request. */
export function breakGlassNote(check: Check, actor: Actor, freeze: string, reason: string): string {
  const via = actor.via === 'slack' ? 'in Slack' : 'on the approvals web list';
  const quoted = gitlabQuote(reason);
  return `**Emergency approval** (break glass) by ${gitlabText(actor.name)} ${via}, during the freeze “${gitlabText(freeze)}” (status check “${gitlabText(check.statusCheckName)}”, commit ${shortSha(check.sha)}):\n\n${quoted}`;
}

/** Why GitLab now shows the check failed although someone had approved it. */
export function withdrawalNote(check: Check, rule: { name: string; required: number }): string {
  const by = check.decidedByName ?? check.decidedBy;
  return (
    `**Approval withdrawn** (status check ${gitlabCode(check.statusCheckName)}, commit ${shortSha(check.sha)}): ` +
    `rule ${gitlabCode(rule.name)} now governs this merge request (${rule.required} approval${rule.required === 1 ? '' : 's'} needed; it was ${gitlabCode(check.ruleName ?? 'none')}), ` +
    `so the approval${by ? ` by ${gitlabCode(by)}` : ''} no longer counts. The check is failed until the new rule's approvers decide.`
  );
}
