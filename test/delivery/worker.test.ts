import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pacer } from '../../src/delivery/pacer.js';
import { DeliveryFailure, DeliveryWorker } from '../../src/delivery/worker.js';
import { Recorder } from '../../src/fakes/recorder.js';
import { createLogger } from '../../src/logging.js';
import { onPostgres, testDatabase } from '../support/database.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../support/harness.js';
import { sampleEvent } from '../support/samples.js';

const event = sampleEvent;

describe('the delivery worker', () => {
  let dir: string;
  let store: Store;
  let worker: DeliveryWorker | null = null;
  beforeEach(async () => {
    dir = tempDir();
    store = await openStore(await testDatabase(dir));
  });
  afterEach(async () => {
    await worker?.stop(1000);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('while a card waits for its retry, an update queued behind it waits quietly instead of spinning the lane', async () => {
    const id = await store.insertCheck(event, 'pending', null, { name: 'default', required: 1 }, new Date()).then((c) => c.id);
    await store.enqueue(id, { kind: 'post_card', payload: null }, new Date());
    await store.enqueue(id, { kind: 'update_card', payload: null }, new Date());

    const attempts = new Recorder<{ kind: string; at: number }>();
    let posts = 0;
    // How often the lane asks the outbox for work: a handful of times while it waits, not thousands.
    let looks = 0;
    const nextDue = store.nextDue.bind(store);
    store.nextDue = (lane, now) => {
      looks += 1;
      return nextDue(lane, now);
    };

    worker = new DeliveryWorker({
      store,
      log: createLogger('silent'),
      baseDelayMs: 300,
      maxDelayMs: 300,
      random: () => 1, // no jitter: the retry comes 300 ms after the failure
      handlers: {
        post_card: {
          deliver: async () => {
            attempts.push({ kind: 'post_card', at: Date.now() });
            posts += 1;
            if (posts === 1) throw new DeliveryFailure('Slack answered HTTP 500', false);
          },
        },
        update_card: {
          deliver: async () => {
            attempts.push({ kind: 'update_card', at: Date.now() });
          },
        },
      },
    });
    worker.start();

    await attempts.waitFor((a) => a.kind === 'post_card', 1);
    const looksAfterFailure = looks;
    await attempts.waitFor((a) => a.kind === 'update_card', 1);

    expect(attempts.calls.map((a) => a.kind)).toEqual(['post_card', 'post_card', 'update_card']);
    expect(attempts.calls[1]!.at - attempts.calls[0]!.at).toBeGreaterThanOrEqual(300);
    expect(looks - looksAfterFailure).toBeLessThan(10);
  });

  it('work queued while an idle lane asks when its next delivery is due is delivered, not slept through', async () => {
    const id = await store.insertCheck(event, 'pending', null, { name: 'default', required: 1 }, new Date()).then((c) => c.id);
    // The GitLab lane, idle, is held inside its question for the earliest due delivery (the
    // answer: none), while a report is queued and the lane is told of it.
    let asked!: () => void;
    const asking = new Promise<void>((resolve) => (asked = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const earliestDue = store.earliestDue.bind(store);
    let held = false;
    store.earliestDue = async (lane) => {
      const due = await earliestDue(lane);
      if (lane === 'gitlab' && !held) {
        held = true;
        asked();
        await answered;
      }
      return due;
    };
    const reports = new Recorder<number>();
    worker = new DeliveryWorker({
      store,
      log: createLogger('silent'),
      baseDelayMs: 100,
      maxDelayMs: 100,
      handlers: {
        report: {
          deliver: async ({ checkId }) => {
            reports.push(checkId);
          },
        },
      },
    });
    const running = worker;
    store.onQueued((lanes) => running.kick(lanes));
    worker.start();

    await asking;
    await store.enqueue(id, { kind: 'report', payload: { projectId: 7, mergeRequestIid: 3, sha: 'a'.repeat(40), statusCheckId: 9, status: 'passed' } }, new Date());
    answer();
    // Nothing else wakes the lane: no poll, and no delivery due on a timer.
    expect(await reports.waitFor(() => true, 1, 5000)).toEqual([id]);
  });

  it('a card waiting for its channel’s slot lets other work on the lane go first, keeps its check’s order, and is no failed attempt', async () => {
    const check = (iid: number) => store.insertCheck({ ...event, mergeRequestIid: iid }, 'pending', null, { name: 'default', required: 1 }, new Date()).then((c) => c.id);
    const busy = [await check(1), await check(2), await check(3)];
    const other = await check(4);
    for (const id of busy) await store.enqueue(id, { kind: 'post_card', payload: null }, new Date());
    await store.enqueue(busy[1]!, { kind: 'update_card', payload: null }, new Date());
    await store.enqueue(other, { kind: 'post_card', payload: null }, new Date());

    const pacer = new Pacer(2.5); // one every 400 ms per channel
    const channelOf = (checkId: number) => (checkId === other ? 'C0OTHER' : 'C0BUSY');
    const sent = new Recorder<{ kind: string; checkId: number; attempts: number; at: number }>();
    worker = new DeliveryWorker({
      store,
      log: createLogger('silent'),
      baseDelayMs: 10_000,
      maxDelayMs: 10_000,
      handlers: {
        post_card: {
          notBefore: async ({ id, checkId }, now) => pacer.slot(channelOf(checkId), id, now),
          deliver: async ({ checkId, attempts }) => void sent.push({ kind: 'post_card', checkId, attempts, at: Date.now() }),
        },
        update_card: { deliver: async ({ checkId, attempts }) => void sent.push({ kind: 'update_card', checkId, attempts, at: Date.now() }) },
      },
    });
    worker.start();
    await sent.waitFor(() => true, 5);

    expect(sent.calls.map((c) => `${c.kind} ${c.checkId}`)).toEqual([
      `post_card ${busy[0]}`,
      `post_card ${other}`,
      `post_card ${busy[1]}`,
      `update_card ${busy[1]}`,
      `post_card ${busy[2]}`,
    ]);
    const busyPosts = sent.calls.filter((c) => c.kind === 'post_card' && c.checkId !== other);
    for (let i = 1; i < busyPosts.length; i++) expect(busyPosts[i]!.at - busyPosts[i - 1]!.at).toBeGreaterThanOrEqual(395);
    expect(sent.calls.every((c) => c.attempts === 0)).toBe(true);
  });
  it.runIf(onPostgres)('a delivery slower than its lease stays with its replica, which renews the lease while the call runs', async () => {
    const LEASE_MS = 2000;
    const url = await testDatabase(dir);
    const [mine, other] = await Promise.all([openStore(url, { deliveryLeaseMs: LEASE_MS }), openStore(url, { deliveryLeaseMs: LEASE_MS })]);
    let finish = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    try {
      const id = await mine.insertCheck(event, 'pending', null, { name: 'default', required: 1 }, new Date()).then((c) => c.id);
      await mine.enqueue(id, { kind: 'notify_author', payload: { about: 'approved' } }, new Date());
      const calls = new Recorder<number>();
      worker = new DeliveryWorker({
        store: mine,
        log: createLogger('silent'),
        baseDelayMs: 100,
        maxDelayMs: 100,
        // Renewed every half second, the lease has a second and a half to spare on a busy machine.
        leaseRenewalMs: LEASE_MS / 4,
        handlers: {
          notify_author: {
            deliver: async ({ id: deliveryId }) => {
              calls.push(deliveryId);
              await finished;
            },
          },
        },
      });
      worker.start();
      await calls.waitFor(() => true, 1);
      // Two leases long, the other replica finds nothing to take: the call is still running.
      const began = Date.now();
      while (Date.now() - began < 2 * LEASE_MS) {
        expect(await other.nextDue('slack', Date.now())).toBeNull();
        await delay(100);
      }
      finish();
      expect(await worker.stop(5000)).toBe(true);
      expect(calls.calls).toHaveLength(1);
      expect(await other.deliveryStats(Date.now())).toMatchObject({ pending: 0, failed: 0 });
    } finally {
      finish();
      await worker?.stop(5000);
      worker = null;
      await Promise.all([mine.close(), other.close()]);
    }
  });
  it.runIf(onPostgres)('a replica whose delivery was taken over mid-call writes and counts nothing of how its call went', async () => {
    const LEASE_MS = 60_000;
    const url = await testDatabase(dir);
    const [mine, other] = await Promise.all([openStore(url, { deliveryLeaseMs: LEASE_MS }), openStore(url, { deliveryLeaseMs: LEASE_MS })]);
    const now = Date.now();
    // Each call returns when the test says so.
    const gate = () => {
      let open = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };
    const [first, second] = [gate(), gate()];
    const finish = () => {
      first.open();
      second.open();
    };
    try {
      const failing = await mine.insertCheck(event, 'pending', null, { name: 'default', required: 1 }, new Date(now)).then((c) => c.id);
      const working = await mine.insertCheck({ ...event, mergeRequestIid: event.mergeRequestIid + 1 }, 'pending', null, { name: 'default', required: 1 }, new Date(now)).then((c) => c.id);
      await mine.enqueue(failing, { kind: 'post_card', payload: null }, new Date(now));
      await mine.enqueue(working, { kind: 'update_card', payload: null }, new Date(now));
      const started = new Recorder<number>();
      const outcomes: string[] = [];
      const followUps: string[] = [];
      worker = new DeliveryWorker({
        store: mine,
        log: createLogger('silent'),
        clock: () => now,
        baseDelayMs: 100,
        maxDelayMs: 100,
        onOutcome: (_lane, kind, outcome) => outcomes.push(`${kind} ${outcome}`),
        handlers: {
          post_card: {
            deliver: async ({ checkId }) => {
              started.push(checkId);
              await first.opened;
              throw new DeliveryFailure('Slack answered HTTP 500', false);
            },
            failed: async () => {
              followUps.push('post_card failed');
            },
          },
          update_card: {
            deliver: async ({ checkId }) => {
              started.push(checkId);
              await second.opened;
              return async () => {
                followUps.push('update_card applied');
              };
            },
          },
        },
      });
      worker.start();
      await started.waitFor((id) => id === failing, 1);
      // This replica stalls past its lease: the other takes the card over.
      const taken = await other.nextDue('slack', now + LEASE_MS);
      expect(taken?.checkId).toBe(failing);
      first.open();
      await started.waitFor((id) => id === working, 1);
      const alsoTaken = await other.nextDue('slack', now + LEASE_MS);
      expect(alsoTaken?.checkId).toBe(working);
      second.open();
      expect(await worker.stop(5000)).toBe(true);
      expect(outcomes).toEqual([]);
      expect(followUps).toEqual([]);
      // Both are still the other replica's, untouched: no attempt counted, no error written.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const rows = (await client.query('SELECT id::int AS id, attempts, last_error, state FROM delivery ORDER BY id')).rows;
        expect(rows).toEqual([
          { id: taken!.id, attempts: 0, last_error: null, state: 'pending' },
          { id: alsoTaken!.id, attempts: 0, last_error: null, state: 'pending' },
        ]);
      } finally {
        await client.end();
      }
      expect(await other.delivered(taken!.id)).toBe(true);
      expect(await other.delivered(alsoTaken!.id)).toBe(true);
    } finally {
      finish();
      await worker?.stop(5000);
      worker = null;
      await Promise.all([mine.close(), other.close()]);
    }
  });
});
