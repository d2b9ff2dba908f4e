/**
 * One message per interval per key (a Slack channel), never two closer together. Slack
 * tolerates short bursts but gives no number for them, so the bot does not count on one; the
 * burst it tolerates is what absorbs a message that arrives a little early after a slow one.
 *
 * A message that must wait is given a slot of its own, so a burst of N waits once each rather
 * than N times over. A slot that comes due while the lane was busy elsewhere still keeps the
 * interval from the message sent last, so a late lane does not send its backlog at once.
 * In memory only: after a restart the first message may go a little early, which Slack's burst
 * absorbs and the 429 handling catches.
 */
export class Pacer {
  readonly #interval: number;
  /** Per key: when the next message not yet given a slot may go. */
  readonly #nextFree = new Map<string, number>();
  /** Per key: when the last message went. */
  readonly #lastSent = new Map<string, number>();
  /** Slots given to messages that wait, by their ticket (the delivery's id). */
  readonly #booked = new Map<number, number>();

  constructor(perSecond: number) {
    this.#interval = 1000 / perSecond;
  }

  /**
   * When the message `ticket` may go to `key` (ms since epoch): `now` when it may go at once
   * (and counts as sent), a later time when it must wait (the slot is kept for it).
   */
  slot(key: string, ticket: number, now: number): number {
    const earliest = (this.#lastSent.get(key) ?? -Infinity) + this.#interval;
    const booked = this.#booked.get(ticket);
    let at: number;
    if (booked !== undefined) {
      at = Math.max(booked, earliest);
    } else {
      at = Math.max(now, this.#nextFree.get(key) ?? -Infinity, earliest);
      this.#nextFree.set(key, at + this.#interval);
    }
    if (at > now) {
      this.#booked.set(ticket, at);
      return at;
    }
    this.#booked.delete(ticket);
    this.#lastSent.set(key, now);
    this.#forgetQuiet(now);
    return now;
  }

  /** The message needs no slot after all (nothing to post any more): its slot goes unused. */
  release(ticket: number): void {
    this.#booked.delete(ticket);
  }

  /** Keys quiet for an interval need no entry; keeps the maps as small as the busy channels. */
  #forgetQuiet(now: number): void {
    if (this.#lastSent.size < 1000) return;
    for (const [key, last] of this.#lastSent) {
      if (last + this.#interval <= now && (this.#nextFree.get(key) ?? -Infinity) <= now) {
        this.#lastSent.delete(key);
        this.#nextFree.delete(key);
      }
    }
  }
}
