import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { isOpen, namesGitLabUser, type Rule } from '../domain/policy.js';

/**
 * The rule for checks no policy rule matches: Slack people in APPROVERS, GitLab users in
 * GITLAB_APPROVERS, and the WEB_USERS names. With no Slack or GitLab approver named,
 * anyone may decide (as before WEB_USERS existed).
 */
export function defaultRule(config: Config): Rule {
  const named = config.approvers.length > 0 || config.gitlabApprovers.length > 0;
  return {
    name: 'default',
    projects: ['**'],
    branches: ['**'],
    channel: config.slack.channel,
    approvers: named
      ? { slack: config.approvers, emails: [], gitlab: config.gitlabApprovers, web: config.webUsers.map((u) => u.name) }
      : { slack: [], emails: [], gitlab: [], web: [] },
    required: 1,
    allowSelfApproval: config.allowSelfApproval,
    approveWithComment: false,
  };
}

/**
 * Whom Sign in with GitLab lets into the web list: people some rule names, by GitLab username
 * or by an e-mail GitLab has confirmed. A rule that names nobody admits nobody this way.
 */
export function approversOnGitLab(policy: { rules: Rule[]; fallback: Rule }, log: Logger): (person: { username: string; email: string | null }) => boolean {
  const lower = (s: string) => s.trim().toLowerCase();
  const rules = [...policy.rules, policy.fallback];
  // Backup approvers (escalate_to) and break_glass people decide on the web list too.
  const usernames = rules.flatMap((r) => [...r.approvers.gitlab, ...(r.reminders?.escalateTo?.gitlab ?? []), ...(r.breakGlass?.gitlab ?? [])]);
  const emails = new Set(rules.flatMap((r) => r.approvers.emails.map(lower)));
  for (const rule of rules.filter((r) => isOpen(r.approvers))) {
    log.warn({ rule: rule.name }, 'Sign in with GitLab admits nobody through a rule that names no approvers: name people in GITLAB_APPROVERS or the rule’s approvers.gitlab or approvers.emails.');
  }
  if (usernames.length + emails.size === 0) {
    log.warn('Sign in with GitLab admits nobody until GITLAB_APPROVERS or a policy rule (approvers.gitlab, approvers.emails) names people.');
  }
  return (person) => namesGitLabUser(usernames, person.username) || (person.email !== null && emails.has(lower(person.email)));
}

/** Says at start which rules let anyone who sees their cards approve them. */
export function warnOpenRules(policy: { rules: Rule[]; fallback: Rule }, log: Logger): void {
  for (const rule of [...policy.rules, policy.fallback]) {
    if (isOpen(rule.approvers)) log.warn({ rule: rule.name }, 'a rule names no approvers: anyone who can see its cards can approve them. Set APPROVERS or the rule’s approvers.');
  }
}
