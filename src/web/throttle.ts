import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';

/** Wrong passwords allowed per address, and per name, within `WINDOW_SECONDS`. */
export const MAX_FAILURES = 10;
export const WINDOW_SECONDS = 5 * 60;

/**
 * Counts wrong WEB_USERS passwords per client address and per name, in memory. Once either has
 * `MAX_FAILURES` in the window, it waits until the window ends: a right password does not
 * reset the count, or a guesser who knows one password could keep guessing another.
 */
export class PasswordThrottle {
  readonly #byAddress = new RateLimiterMemory({ keyPrefix: 'address', points: MAX_FAILURES, duration: WINDOW_SECONDS });
  readonly #byName = new RateLimiterMemory({ keyPrefix: 'name', points: MAX_FAILURES, duration: WINDOW_SECONDS });

  /** Seconds this address or name must wait before trying again; 0 when it may try now. */
  async waitSeconds(address: string, name: string | null): Promise<number> {
    const [a, n] = await Promise.all([this.#byAddress.get(address), name === null ? null : this.#byName.get(nameKey(name))]);
    const waits = [a, n].filter((r): r is RateLimiterRes => r !== null && r.consumedPoints >= MAX_FAILURES).map((r) => r.msBeforeNext);
    return waits.length ? Math.max(1, Math.ceil(Math.max(...waits) / 1000)) : 0;
  }

  /** One more wrong password from this address, for this name. True when this one reached the limit. */
  async failed(address: string, name: string | null): Promise<boolean> {
    // `consume` rejects once the points are spent, with the same count: only the count matters.
    const spend = (limiter: RateLimiterMemory, key: string) =>
      limiter.consume(key).then(
        (res) => res.consumedPoints === MAX_FAILURES,
        () => false,
      );
    const reached = await Promise.all([spend(this.#byAddress, address), name === null ? false : spend(this.#byName, nameKey(name))]);
    return reached.some(Boolean);
  }
}

/** Names are bounded so that guesses cannot grow the table without end. */
const nameKey = (name: string): string => name.slice(0, 128);
