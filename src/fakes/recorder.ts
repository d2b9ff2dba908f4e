/** Calls a fake server received, with a way to wait for the ones a test expects. */
export class Recorder<T> {
  readonly calls: T[] = [];
  readonly #waiters = new Set<() => void>();

  push(call: T): void {
    this.calls.push(call);
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves with the matching calls once there are at least `count` of them. Fails after
   * `timeoutMs` with a message listing what did arrive, so a broken flow fails fast and clearly.
   */
  waitFor(match: (call: T) => boolean, count = 1, timeoutMs = 10_000): Promise<T[]> {
    const found = () => this.calls.filter(match);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hits = found();
        if (hits.length < count) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(hits);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`expected ${count} matching call(s), saw ${found().length}; all calls: ${JSON.stringify(this.calls).slice(0, 2000)}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }
}
