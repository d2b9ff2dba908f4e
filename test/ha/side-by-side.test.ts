import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';
import { sampleEvent } from '../support/samples.js';

const RULE = { name: 'default', required: 1 };

/**
 * Two replicas write about different merge requests at the same time: neither waits for the
 * other's commit. (Every new check used to add one to the same count row, so each GitLab
 * call waited for the one before it to commit, on every replica.)
 */
describe.runIf(postgresReady)('writes about different merge requests on two replicas', () => {
  let url: string;
  let a: Store;
  let b: Store;

  beforeEach(async () => {
    url = await freshPostgres({ schema: true });
    [a, b] = await Promise.all([openStore(url), openStore(url)]);
  });

  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropPostgres(url);
  });

  /** Runs `second` while `first` holds its transaction open; what `second` came to within 10 s. */
  async function whileOpen(first: (store: Store) => Promise<unknown>, second: (store: Store) => Promise<unknown>): Promise<'done' | 'waited for the other replica'> {
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const holding = a.transaction(async () => {
      await first(a);
      opened();
      await finished;
    });
    await open;
    let bound: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      b.transaction(() => second(b)).then(() => 'done' as const),
      new Promise<'waited for the other replica'>((resolve) => (bound = setTimeout(() => resolve('waited for the other replica'), 10_000))),
    ]);
    clearTimeout(bound);
    finish();
    await holding;
    return outcome;
  }

  it('a new check on each: the second commits while the first is still open', async () => {
    const outcome = await whileOpen(
      (store) => store.insertCheck({ ...sampleEvent, mergeRequestIid: 101 }, 'pending', null, RULE, new Date()).then((c) => c.id),
      (store) => store.insertCheck({ ...sampleEvent, mergeRequestIid: 102 }, 'pending', null, RULE, new Date()).then((c) => c.id),
    );
    expect(outcome).toBe('done');
    expect(await a.countChecks({ states: ['pending'], q: null })).toBe(2);
  });

  it('a decision on each: the second commits while the first is still open, and the counts stay right', async () => {
    const first = await a.insertCheck({ ...sampleEvent, mergeRequestIid: 201 }, 'pending', null, RULE, new Date()).then((c) => c.id);
    const second = await a.insertCheck({ ...sampleEvent, mergeRequestIid: 202 }, 'pending', null, RULE, new Date()).then((c) => c.id);
    const outcome = await whileOpen(
      (store) => store.retire(first, 'closed', new Date()),
      (store) => store.retire(second, 'merged', new Date()),
    );
    expect(outcome).toBe('done');
    expect(await a.countChecks({ states: ['pending'], q: null })).toBe(0);
    expect(await a.countChecks({ states: ['closed', 'merged'], q: null })).toBe(2);
  });
});
