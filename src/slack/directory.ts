import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { PeopleDirectory } from '../domain/policy.js';

export interface DirectoryOptions {
  client: webApi.WebClient;
  log: Logger;
  clock?: () => number;
  /** How long user-group members and e-mails are trusted before asking Slack again. */
  ttlMs?: number;
  /** How old an answer may be and still serve while Slack fails; older, the gate fails closed. */
  maxStaleMs?: number;
}

interface Cached<T> {
  value: T;
  at: number;
}

/**
 * What the bot needs to know about Slack people: who is in a user group
 * (`usergroups.users.list`) and a person's e-mail (`users.info`, scope users:read.email).
 * Answers are cached so clicks stay fast; a stale answer is used when Slack hiccups.
 */
export class SlackDirectory implements PeopleDirectory {
  readonly #groups = new Map<string, Cached<ReadonlySet<string>>>();
  readonly #emails = new Map<string, Cached<string | null>>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #o: Required<DirectoryOptions>;

  constructor(options: DirectoryOptions) {
    this.#o = { clock: Date.now, ttlMs: 5 * 60_000, maxStaleMs: 60 * 60_000, ...options };
  }

  /**
   * Whether the user is one of `ids` (user IDs, or user groups they belong to).
   * `unknown` when Slack could not say for a group and the user is in no other.
   */
  async isListed(userId: string, ids: readonly string[]): Promise<boolean | 'unknown'> {
    if (ids.includes(userId)) return true;
    let unknown = false;
    for (const group of ids.filter((id) => id.startsWith('S'))) {
      try {
        if ((await this.#members(group)).has(userId)) return true;
      } catch (error) {
        this.#o.log.warn({ group, error: (error as Error).message }, 'could not read user group members');
        unknown = true;
      }
    }
    return unknown ? 'unknown' : false;
  }

  /** The e-mail on a person's Slack profile; null when Slack shares none. Throws when Slack fails. */
  email(userId: string): Promise<string | null> {
    return this.#cached(this.#emails, `email:${userId}`, userId, async () => {
      const result = await this.#o.client.users.info({ user: userId });
      return result.user?.profile?.email ?? null;
    });
  }

  #members(group: string): Promise<ReadonlySet<string>> {
    return this.#cached(this.#groups, `group:${group}`, group, async () => {
      const result = await this.#o.client.usergroups.users.list({ usergroup: group });
      return new Set(result.users ?? []);
    });
  }

  async #cached<T>(cache: Map<string, Cached<T>>, flightKey: string, key: string, fetch: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && this.#o.clock() - hit.at < this.#o.ttlMs) return hit.value;
    let pending = this.#inFlight.get(flightKey) as Promise<T> | undefined;
    if (!pending) {
      pending = fetch()
        .then((value) => {
          cache.set(key, { value, at: this.#o.clock() });
          return value;
        })
        .catch((error: unknown) => {
          // Better a slightly old answer than locking approvers out while Slack hiccups.
          if (hit && this.#o.clock() - hit.at < this.#o.maxStaleMs) return hit.value;
          throw error;
        })
        .finally(() => this.#inFlight.delete(flightKey));
      this.#inFlight.set(flightKey, pending);
    }
    return pending;
  }
}
