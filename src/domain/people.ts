import type { Identity } from './policy.js';

/**
 * Who counts as the same person towards a quorum. A person is an account, not an address:
 * an account's e-mail can change (a Slack profile, a GitLab sign-in), so votes are told apart
 * by account, and two accounts are one person when they shared an e-mail (or a GitLab user
 * id, across a rename) at any time the bot saw them, directly or through a chain of them.
 */

/** That an account showed this once: `email:<address>`, or `gitlab-user:<id>` (which outlives a rename). */
export interface Sighting {
  account: string;
  seen: string;
}

/**
 * The account someone decides with: a Slack user ID, a GitLab username (unique whatever its
 * case), or a WEB_USERS name. Stable when the e-mail changes.
 */
export function accountOf(identity: Pick<Identity, 'id' | 'login' | 'gitlabUsername'>): string {
  switch (identity.login) {
    case 'slack':
      return `slack:${identity.id}`;
    case 'gitlab':
      return `gitlab:${(identity.gitlabUsername ?? identity.id).trim().toLowerCase()}`;
    case 'password':
      return `web:${identity.id}`;
  }
}

/** E-mail addresses are compared without case or surrounding spaces. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** What identifies an account besides its name, as sightings record it. */
export function sightingsOf(identity: Pick<Identity, 'email' | 'gitlabUserId'>): string[] {
  const seen: string[] = [];
  if (identity.email) seen.push(`email:${normaliseEmail(identity.email)}`);
  if (typeof identity.gitlabUserId === 'number') seen.push(`gitlab-user:${identity.gitlabUserId}`);
  return seen;
}

/** The accounts grouped into people, each group in the order its first account was given. */
export function people(accounts: readonly string[], sightings: readonly Sighting[]): string[][] {
  const parent = new Map<string, string>();
  const root = (node: string): string => {
    let at = node;
    while (parent.has(at) && parent.get(at) !== at) at = parent.get(at) as string;
    parent.set(node, at);
    return at;
  };
  const join = (a: string, b: string) => {
    const ra = root(a);
    const rb = root(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  // Accounts and what identified them are nodes of one graph; a sighting is an edge.
  for (const s of sightings) join(`account:${s.account}`, `seen:${s.seen}`);
  const groups = new Map<string, string[]>();
  for (const account of new Set(accounts)) {
    const key = root(`account:${account}`);
    groups.set(key, [...(groups.get(key) ?? []), account]);
  }
  return [...groups.values()];
}

/**
 * What one more approval does to a quorum: nothing when its person approved already (the
 * same account, or one linked to it by an e-mail), else it counts, and it decides once
 * `required` different people approved.
 */
export function tallyApproval(
  prior: readonly string[],
  account: string,
  sightings: readonly Sighting[],
  required: number,
): 'already_counted' | 'counted' | 'decides' {
  const before = people(prior, sightings).length;
  const after = people([...prior, account], sightings).length;
  if (after === before) return 'already_counted';
  return after >= required ? 'decides' : 'counted';
}
