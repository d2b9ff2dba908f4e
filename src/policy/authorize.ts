import type { Logger } from 'pino';
import type { Actor, Check, Outcome } from '../domain/check.js';
import { accountOf, sightingsOf } from '../domain/people.js';
import {
  breakGlassRule,
  isAuthor,
  isOpen,
  namesGitLabUser,
  ruleFor,
  withEscalation,
  type Authorization,
  type Authors,
  type FindAuthors,
  type Identity,
  type PeopleDirectory,
  type Permit,
  type Policy,
  type Rule,
} from '../domain/policy.js';

export interface AuthorizerOptions {
  policy: Policy;
  slack: PeopleDirectory;
  findAuthors: FindAuthors;
  log: Logger;
  clock?: () => number;
  /** How long a merge request's authors are trusted for one commit. */
  authorsTtlMs?: number;
}

const refuse = (message: string): Permit => ({ ok: false, refusal: { code: 'not_allowed', message } });

const TRY_AGAIN = 'so nothing was recorded. Please try again in a minute.';

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

  ruleFor(check: Pick<Check, 'projectPath' | 'targetBranch'> & Partial<Pick<Check, 'escalatedAt'>>): Rule {
    return withEscalation(ruleFor(this.#o.policy, check.projectPath, check.targetBranch), check);
  }

  async isApprover(actor: Actor, rule: Rule): Promise<boolean> {
    if (isOpen(rule.approvers)) return true;
    try {
      return (await this.#listed(await this.#identify(actor, rule.approvers.emails.length > 0), rule)) === true;
    } catch {
      return false;
    }
  }

  async permit(actor: Actor, check: Check, outcome: Outcome, as: 'approver' | 'break_glass' = 'approver'): Promise<Permit> {
    const governing = this.ruleFor(check);
    const rule = as === 'break_glass' ? breakGlassRule(governing) : governing;
    if (!rule) return refuse(`Rule “${governing.name}” names nobody in break_glass, so there is no emergency approval. Nothing was recorded.`);
    const fourEyes = outcome === 'approve' && !rule.allowSelfApproval;
    let identity: Identity;
    try {
      identity = await this.#identify(actor, rule.approvers.emails.length > 0 || fourEyes || check.approvalsRequired > 1);
    } catch (error) {
      this.#o.log.warn({ actor: actor.id, error: (error as Error).message }, 'could not read the approver’s profile');
      return refuse(`Slack did not tell who you are just now, ${TRY_AGAIN}`);
    }

    if (!isOpen(rule.approvers)) {
      const listed = await this.#listed(identity, rule);
      if (listed === 'unknown') return refuse(`Slack did not tell who is in the approver groups just now, ${TRY_AGAIN}`);
      if (!listed) {
        return refuse(
          as === 'break_glass'
            ? `You are not named in break_glass for rule “${rule.name}”, so you cannot approve during the freeze. Nothing was recorded.`
            : `You are not one of the approvers for this check (rule “${rule.name}”), so nothing was recorded.`,
        );
      }
    }

    if (outcome === 'approve' && rule.required > 1 && check.approvalsRequired > 1 && identity.login === 'password') {
      return refuse(
        `This check needs ${check.approvalsRequired} approvals from different people, and a shared web login cannot tell people apart. Approve in Slack or sign in with GitLab. Nothing was recorded.`,
      );
    }

    if (fourEyes) {
      if (identity.login === 'slack' && identity.email === null) {
        return refuse('Slack shares no e-mail for you, so the bot cannot confirm you did not write this merge request (the Slack app needs the users:read.email scope). Nothing was recorded.');
      }
      let authors: Authors;
      try {
        authors = await this.#authorsOf(check);
      } catch (error) {
        this.#o.log.warn({ checkId: check.id, error: (error as Error).message }, 'could not read the merge request’s authors');
        return refuse(`GitLab did not say who wrote this merge request just now, ${TRY_AGAIN}`);
      }
      if (isAuthor(identity, authors)) {
        return refuse('You wrote this merge request or one of its commits, and this rule needs someone else to approve it (four eyes). Nothing was recorded.');
      }
      // Slack knows people by e-mail only: without the author's, the author could approve.
      if (identity.login === 'slack' && !authors.authorEmailKnown) {
        return refuse(
          'GitLab does not show the e-mail of this merge request’s author (no public e-mail), so the bot cannot tell you apart from the author in Slack. Approve on the web list signed in with GitLab, or ask the author to set a public e-mail. Nothing was recorded.',
        );
      }
    }
    return { ok: true, rule, account: accountOf(identity), seen: sightingsOf(identity) };
  }

  async #identify(actor: Actor, needEmail: boolean): Promise<Identity> {
    if (actor.via === 'web') {
      const login = actor.login ?? (actor.gitlabUsername ? 'gitlab' : 'password');
      const gitlab = login === 'gitlab';
      return { id: actor.id, via: 'web', login, email: actor.email ?? null, gitlabUsername: gitlab ? (actor.gitlabUsername ?? actor.id) : null, gitlabUserId: gitlab ? (actor.gitlabUserId ?? null) : null };
    }
    return { id: actor.id, via: 'slack', login: 'slack', email: needEmail ? await this.#o.slack.email(actor.id) : null, gitlabUsername: null };
  }

  async #listed(identity: Identity, rule: Rule): Promise<boolean | 'unknown'> {
    const emails = new Set(rule.approvers.emails.map((e) => e.toLowerCase()));
    if (identity.email && emails.has(identity.email.toLowerCase())) return true;
    switch (identity.login) {
      case 'gitlab':
        return identity.gitlabUsername !== null && namesGitLabUser(rule.approvers.gitlab, identity.gitlabUsername);
      case 'password':
        return rule.approvers.web.includes(identity.id);
      case 'slack':
        return this.#o.slack.isListed(identity.id, rule.approvers.slack);
    }
  }

  /** Who wrote the check's merge request (cached per commit, shared with the four-eyes rule). */
  authorsOf(check: Check): Promise<Authors> {
    return this.#authorsOf(check);
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
