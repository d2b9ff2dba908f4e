import type { Logger } from 'pino';
import type { Actor, Check, Outcome } from '../domain/check.js';
import { isAuthor, isOpen, personKey, ruleFor, type Authorization, type Authors, type Identity, type Permit, type Policy, type Rule } from '../domain/policy.js';
import type { FindAuthors } from '../gitlab/merge-request.js';
import type { SlackDirectory } from '../slack/directory.js';

export interface AuthorizerOptions {
  policy: Policy;
  slack: SlackDirectory;
  findAuthors: FindAuthors;
  log: Logger;
  clock?: () => number;
  /** How long a merge request's authors are trusted for one commit. */
  authorsTtlMs?: number;
}

const refuse = (message: string): Permit => ({ ok: false, refusal: { code: 'not_allowed', message } });

/**
 * Applies the policy to one person and one check: is this person an approver under the
 * rule that governs the check, and (for an approval) did they write it? Fails closed: when
 * Slack or GitLab cannot answer, nothing is recorded and the person is asked to retry.
 */
export class Authorizer implements Authorization {
  readonly #o: Required<AuthorizerOptions>;
  readonly #authors = new Map<string, { value: Promise<Authors>; at: number }>();

  constructor(options: AuthorizerOptions) {
    this.#o = { clock: Date.now, authorsTtlMs: 10 * 60_000, ...options };
  }

  ruleFor(check: Pick<Check, 'projectPath' | 'targetBranch'>): Rule {
    return ruleFor(this.#o.policy, check.projectPath, check.targetBranch);
  }

  async permit(actor: Actor, check: Check, outcome: Outcome): Promise<Permit> {
    const rule = this.ruleFor(check);
    const needEmail = rule.approvers.emails.length > 0 || (!rule.allowSelfApproval && outcome === 'approve') || rule.required > 1;
    let identity: Identity;
    try {
      identity = await this.#identify(actor, needEmail);
    } catch (error) {
      this.#o.log.warn({ actor: actor.id, error: (error as Error).message }, 'could not read the approver’s profile');
      return refuse('Slack did not tell who you are just now, so nothing was recorded. Please try again in a minute.');
    }

    if (!isOpen(rule.approvers)) {
      const listed = await this.#listed(actor, identity, rule);
      if (listed === 'unknown') return refuse('Slack did not tell who is in the approver groups just now, so nothing was recorded. Please try again in a minute.');
      if (!listed) return refuse(`You are not one of the approvers for this check (rule “${rule.name}”), so nothing was recorded.`);
    }

    if (outcome === 'approve' && !rule.allowSelfApproval) {
      if (actor.via === 'slack' && identity.email === null) {
        return refuse('Slack shares no e-mail for you, so the bot cannot confirm you did not write this merge request (the Slack app needs the users:read.email scope). Nothing was recorded.');
      }
      let authors: Authors;
      try {
        authors = await this.#authorsOf(check);
      } catch (error) {
        this.#o.log.warn({ checkId: check.id, error: (error as Error).message }, 'could not read the merge request’s authors');
        return refuse('GitLab did not say who wrote this merge request just now, so nothing was recorded. Please try again in a minute.');
      }
      if (isAuthor(identity, authors)) {
        return refuse('You wrote this merge request or one of its commits, and this rule needs someone else to approve it (four eyes). Nothing was recorded.');
      }
    }
    return { ok: true, rule, person: personKey(identity) };
  }

  async #identify(actor: Actor, needEmail: boolean): Promise<Identity> {
    if (actor.via === 'web') {
      return { id: actor.id, via: 'web', email: actor.email ?? null, gitlabUsername: actor.gitlabUsername ?? actor.id };
    }
    return { id: actor.id, via: 'slack', email: needEmail ? await this.#o.slack.email(actor.id) : null, gitlabUsername: null };
  }

  async #listed(actor: Actor, identity: Identity, rule: Rule): Promise<boolean | 'unknown'> {
    const emails = new Set(rule.approvers.emails.map((e) => e.toLowerCase()));
    if (identity.email && emails.has(identity.email.toLowerCase())) return true;
    if (actor.via === 'web') return identity.gitlabUsername !== null && rule.approvers.gitlab.includes(identity.gitlabUsername);
    return this.#o.slack.isListed(actor.id, rule.approvers.slack);
  }

  #authorsOf(check: Check): Promise<Authors> {
    const key = `${check.projectId}/${check.mergeRequestIid}/${check.sha}`;
    const hit = this.#authors.get(key);
    if (hit && this.#o.clock() - hit.at < this.#o.authorsTtlMs) return hit.value;
    const value = this.#o.findAuthors(check.projectId, check.mergeRequestIid);
    // A failed look-up is not remembered.
    value.catch(() => this.#authors.delete(key));
    this.#authors.set(key, { value, at: this.#o.clock() });
    return value;
  }
}
