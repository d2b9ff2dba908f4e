import picomatch from 'picomatch';
import type { Actor, Check, Outcome } from './check.js';
import type { BreakGlass, Freeze } from './freeze.js';
import type { Refusal } from './rules.js';
import type { Reminders } from './schedule.js';

/** Who may decide under a rule. Empty lists everywhere: anyone who can see the card. */
export interface Approvers {
  /** Slack user IDs (U…, W…) and user-group IDs (S…). */
  slack: string[];
  /** E-mail addresses, matched against a Slack user's profile or a GitLab account. */
  emails: string[];
  /** GitLab usernames (web list, signed in with GitLab). */
  gitlab: string[];
  /** WEB_USERS names (web list, signed in with a name and password). */
  web: string[];
}

export interface Rule {
  name: string;
  /** Globs on the project's path with namespace ("acme/payments-*"). */
  projects: string[];
  /** Globs on the target branch ("main", "release/*"). */
  branches: string[];
  channel: string;
  approvers: Approvers;
  /** Distinct approvals that pass the check. One rejection rejects. */
  required: number;
  /** May the merge request's author or a commit author approve? */
  allowSelfApproval: boolean;
  /** Ask approvers for a comment and post it on the merge request. */
  approveWithComment: boolean;
  /** Reminders in the card's thread, and escalation to backup approvers; none when absent. */
  reminders?: Reminders | null;
  /** When approvals are refused (rejections still count). */
  freezes?: Freeze[];
  /** Who may approve during a freeze, with a reason, through "Emergency approve". */
  breakGlass?: BreakGlass | null;
}

export interface Policy {
  rules: Rule[];
  /** Applies when no rule matches: APPROVERS and SLACK_CHANNEL. */
  fallback: Rule;
}

export const isOpen = (approvers: Approvers): boolean =>
  approvers.slack.length === 0 && approvers.emails.length === 0 && approvers.gitlab.length === 0 && approvers.web.length === 0;

const matches = (globs: readonly string[], value: string): boolean =>
  globs.some((glob) => picomatch.isMatch(value, glob, { dot: true }));

/** The first rule whose project and branch globs both match; the fallback otherwise. */
export function ruleFor(policy: Policy, projectPath: string, targetBranch: string): Rule {
  return policy.rules.find((r) => matches(r.projects, projectPath) && matches(r.branches, targetBranch)) ?? policy.fallback;
}

/**
 * The rule as it stands for one check: once the check was escalated, the people in
 * escalate_to may decide it too, as backup approvers under every other test of the rule.
 */
export function withEscalation(rule: Rule, check: { escalatedAt?: Date | null }): Rule {
  const to = rule.reminders?.escalateTo;
  // A rule that names nobody lets anyone decide already: naming backups would narrow it.
  if (!check.escalatedAt || !to || isOpen(rule.approvers)) return rule;
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];
  return { ...rule, approvers: { ...rule.approvers, slack: union(rule.approvers.slack, to.slack), gitlab: union(rule.approvers.gitlab, to.gitlab) } };
}

/**
 * The rule as it stands for an emergency approval: only its break_glass people may, each
 * approval decides alone; null when the rule names nobody for it.
 */
export function breakGlassRule(rule: Rule): Rule | null {
  const people = rule.breakGlass;
  if (!people || people.slack.length + people.gitlab.length === 0) return null;
  return { ...rule, approvers: { slack: people.slack, gitlab: people.gitlab, emails: [], web: [] }, required: 1 };
}

/** The people behind a merge request, for the four-eyes rule. */
export interface Authors {
  usernames: string[];
  emails: string[];
  /** Whether GitLab told the merge request author's own e-mail (not only the commits'). */
  authorEmailKnown: boolean;
}

/** What is known of the person deciding. */
export interface Identity {
  /** Slack user ID, GitLab username, or WEB_USERS name. */
  id: string;
  via: 'slack' | 'web';
  /** For the web list: signed in with GitLab, or with a shared name and password. */
  login: 'slack' | 'gitlab' | 'password';
  email: string | null;
  gitlabUsername: string | null;
  /** GitLab's numeric user id, when signed in with GitLab: it stays when the username changes. */
  gitlabUserId?: number | null;
}

const lower = (s: string) => s.trim().toLowerCase();

/**
 * Whether a list of GitLab usernames names this one. GitLab usernames are unique whatever
 * their case (KPatel and kpatel are one account), so this is the one comparison for them.
 */
export function namesGitLabUser(usernames: readonly string[], username: string): boolean {
  const wanted = lower(username);
  return usernames.some((u) => lower(u) === wanted);
}

/**
 * Whether this person wrote the merge request or one of its commits. A WEB_USERS name is
 * compared with the authors' GitLab usernames (name WEB_USERS after them).
 */
export function isAuthor(identity: Identity, authors: Authors): boolean {
  const emails = new Set(authors.emails.map(lower));
  const usernames = new Set(authors.usernames.map(lower));
  const name = identity.gitlabUsername ?? (identity.login === 'password' ? identity.id : null);
  return (identity.email !== null && emails.has(lower(identity.email))) || (name !== null && usernames.has(lower(name)));
}

/** The answer to "may this person decide this check": the governing rule and who they are. */
export type Permit =
  | {
      ok: true;
      rule: Rule;
      /** The account deciding (see people.ts): votes are counted per person, never per address. */
      account: string;
      /** What else identifies the account now (its e-mail, its GitLab user id): links accounts. */
      seen: string[];
    }
  | { ok: false; refusal: Refusal };

/** Applies the policy; the implementation looks people up in Slack and GitLab. */
export interface Authorization {
  /** The governing rule; with the check's escalation, its backup approvers too. */
  ruleFor(check: Pick<Check, 'projectPath' | 'targetBranch'> & Partial<Pick<Check, 'escalatedAt'>>): Rule;
  /** `break_glass`: as one of the rule's break_glass people (an emergency approval during a freeze). */
  permit(actor: Actor, check: Check, outcome: Outcome, as?: 'approver' | 'break_glass'): Promise<Permit>;
  /** Whether the person is one of the rule's approvers (no other test). */
  isApprover(actor: Actor, rule: Rule): Promise<boolean>;
}

/** Reads who wrote a merge request (GitLab). */
export type FindAuthors = (projectId: number, mergeRequestIid: number) => Promise<Authors>;

/** What the policy needs to know of Slack people. */
export interface PeopleDirectory {
  /** Whether the user is one of `ids` (users, or user groups they are in); `unknown` when Slack could not say. */
  isListed(userId: string, ids: readonly string[]): Promise<boolean | 'unknown'>;
  /** The e-mail on the person's profile; null when none is shared. */
  email(userId: string): Promise<string | null>;
}
