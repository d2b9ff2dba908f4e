import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Refusal } from '../domain/rules.js';

export interface ApproverOptions {
  /** Slack user IDs (U…, W…) and user-group IDs (S…). Empty: anyone may decide. */
  approvers: readonly string[];
  client: webApi.WebClient;
  log: Logger;
  clock?: () => number;
  /** How long a user group's members are trusted before asking Slack again. */
  ttlMs?: number;
}

interface Members {
  users: ReadonlySet<string>;
  fetchedAt: number;
}

/**
 * Answers "may this Slack user decide?" against APPROVERS, resolving user groups with
 * `usergroups.users.list` and caching their members so clicks stay fast.
 */
export class SlackApprovers {
  readonly #users: ReadonlySet<string>;
  readonly #groups: readonly string[];
  readonly #cache = new Map<string, Members>();
  readonly #inFlight = new Map<string, Promise<Members>>();
  readonly #o: Required<Omit<ApproverOptions, 'approvers'>>;

  constructor({ approvers, ...options }: ApproverOptions) {
    this.#users = new Set(approvers.filter((id) => !id.startsWith('S')));
    this.#groups = approvers.filter((id) => id.startsWith('S'));
    this.#o = { clock: Date.now, ttlMs: 5 * 60_000, ...options };
  }

  get open(): boolean {
    return this.#users.size === 0 && this.#groups.length === 0;
  }

  async check(userId: string): Promise<Refusal | null> {
    if (this.open || this.#users.has(userId)) return null;
    let unknown = 0;
    for (const group of this.#groups) {
      const members = await this.#members(group).catch((error: Error) => {
        this.#o.log.warn({ group, error: error.message }, 'could not read user group members');
        return null;
      });
      if (members === null) unknown += 1;
      else if (members.users.has(userId)) return null;
    }
    if (unknown > 0) {
      return { code: 'not_allowed', message: 'Slack did not tell who is in the approver groups just now, so nothing was recorded. Please try again in a minute.' };
    }
    return { code: 'not_allowed', message: 'You are not one of the approvers for this check, so nothing was recorded.' };
  }

  async #members(group: string): Promise<Members> {
    const cached = this.#cache.get(group);
    if (cached && this.#o.clock() - cached.fetchedAt < this.#o.ttlMs) return cached;
    let pending = this.#inFlight.get(group);
    if (!pending) {
      pending = this.#o.client.usergroups.users
        .list({ usergroup: group })
        .then((result) => {
          const members = { users: new Set(result.users ?? []), fetchedAt: this.#o.clock() };
          this.#cache.set(group, members);
          return members;
        })
        .catch((error: unknown) => {
          // Better a slightly old list than locking every approver out while Slack hiccups.
          if (cached) return cached;
          throw error;
        })
        .finally(() => this.#inFlight.delete(group));
      this.#inFlight.set(group, pending);
    }
    return pending;
  }
}
