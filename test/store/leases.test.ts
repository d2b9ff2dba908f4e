import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LANE_OF, type Effect } from '../../src/domain/effects.js';
import type { Delivery } from '../../src/ports.js';
import { openStore, type Store } from '../../src/store/store.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';
import { sampleEvent } from '../support/samples.js';

const RULE = { name: 'default', required: 1 };
const LEASE_MS = 60_000;

/** Two stores on one PostgreSQL database: two replicas, as far as the database can tell. */
describe.runIf(postgresReady)('leases and claims between replicas', () => {
  let url: string;
  let a: Store;
  let b: Store;

  beforeEach(async () => {
    url = await freshPostgres();
    [a, b] = await Promise.all([openStore(url, { deliveryLeaseMs: LEASE_MS }), openStore(url, { deliveryLeaseMs: LEASE_MS })]);
  });

  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropPostgres(url);
  });

  /** A check with one delivery queued by `a` at `now`; its id. */
  const queued = async (effect: Effect, now: number): Promise<number> => {
    const id = await a.insertCheck(sampleEvent, 'pending', null, RULE, new Date(now)).then((c) => c.id);
    await a.enqueue(id, effect, new Date(now));
    return id;
  };

  /** `a` claims the delivery, stalls past its lease, and `b` takes it over. */
  const stalledAndTakenOver = async (effect: Effect, now: number) => {
    await queued(effect, now);
    const lane = LANE_OF[effect.kind];
    const stalled = (await a.nextDue(lane, now)) as Delivery;
    const taken = (await b.nextDue(lane, now + LEASE_MS)) as Delivery;
    expect(taken.id).toBe(stalled.id);
    return { stalled, taken };
  };

  it('a job lease is held by one replica until it lapses, and its holder keeps it', async () => {
    const now = Date.now();
    expect(await a.holdLease('nudger', 30_000, now)).toBe(true);
    expect(await b.holdLease('nudger', 30_000, now + 1000)).toBe(false);
    expect(await a.holdLease('nudger', 30_000, now + 20_000)).toBe(true);
    // Kept by the renewal: still not free 30 s after the first take.
    expect(await b.holdLease('nudger', 30_000, now + 35_000)).toBe(false);
    // The holder died: nobody renewed, and the lease lapses.
    expect(await b.holdLease('nudger', 30_000, now + 50_001)).toBe(true);
    expect(await a.holdLease('nudger', 30_000, now + 50_002)).toBe(false);
    // Other jobs have leases of their own.
    expect(await a.holdLease('reconciler', 30_000, now)).toBe(true);
  });

  it('a replica that stops lets go of its leases at once', async () => {
    const now = Date.now();
    expect(await a.holdLease('nudger', 30_000, now)).toBe(true);
    await a.close();
    a = await openStore(url);
    expect(await b.holdLease('nudger', 30_000, now + 1)).toBe(true);
  });

  it('a delivery claimed by one replica is not taken by another until its lease ends', async () => {
    const now = Date.now();
    const id = await queued({ kind: 'post_card', payload: null }, now);
    const claimed = await a.nextDue('slack', now);
    expect(claimed?.checkId).toBe(id);
    expect(await b.nextDue('slack', now)).toBeNull();
    expect(await a.nextDue('slack', now)).toBeNull();
    // The other replica wakes when the lease ends, not before.
    expect(await b.earliestDue('slack')).toBe(now + LEASE_MS);
    const taken = await b.nextDue('slack', now + LEASE_MS);
    expect(taken?.id).toBe(claimed?.id);
  });

  it('a delivery whose calls still run keeps its lease while its replica renews it, and not after another took it over', async () => {
    const now = Date.now();
    await queued({ kind: 'notify_author', payload: { about: 'approved' } }, now);
    const slow = await a.nextDue('slack', now);
    expect(await a.extendLease(slow!.id, now + 50_000)).toBe(true);
    // Renewed from 50 s on: still a's at the first lease's end...
    expect(await b.nextDue('slack', now + LEASE_MS)).toBeNull();
    expect(await b.earliestDue('slack')).toBe(now + 50_000 + LEASE_MS);
    // ...and b's once the renewed lease is over too (a died after renewing).
    const taken = await b.nextDue('slack', now + 50_000 + LEASE_MS);
    expect(taken?.id).toBe(slow?.id);
    expect(await a.extendLease(slow!.id, now + 50_000 + LEASE_MS + 1)).toBe(false);
    expect(await b.earliestDue('slack')).toBe(now + 50_000 + 2 * LEASE_MS);
  });

  it('a replica whose lease ended writes nothing about the delivery another replica took over', async () => {
    const now = Date.now();
    const { stalled, taken } = await stalledAndTakenOver({ kind: 'report', payload: { projectId: 42, mergeRequestIid: 128, sha: sampleEvent.sha, statusCheckId: 7, status: 'passed' } }, now);
    // The stalled replica comes back: its retry, pacing or failure does not free b's claim...
    // (each says so, so that the worker does not write what the failure meant either)...
    expect(await a.reschedule(stalled.id, now, 'timeout')).toBe(false);
    expect(await a.defer(stalled.id, now)).toBe(false);
    expect(await a.giveUp(stalled.id, 'gave up')).toBe(false);
    const c = await openStore(url);
    try {
      expect(await c.nextDue('gitlab', now + LEASE_MS + 1)).toBeNull();
    } finally {
      await c.close();
    }
    // ...and its success is not its to write: b finishes the delivery.
    expect(await a.delivered(stalled.id)).toBe(false);
    expect(await b.delivered(taken.id)).toBe(true);
    expect((await a.deliveryStats(now)).pending + (await a.deliveryStats(now)).failed).toBe(0);
  });

  it('once the replica that took a delivery over has let go of it, a stalled replica’s failure is still not written, but its success is', async () => {
    const now = Date.now();
    const { stalled, taken } = await stalledAndTakenOver({ kind: 'post_card', payload: null }, now);
    // b's post failed: it is rescheduled, and nobody holds it until it is due again.
    expect(await b.reschedule(taken.id, now + LEASE_MS + 5000, 'Slack answered HTTP 500')).toBe(true);
    expect(await a.giveUp(stalled.id, 'gave up')).toBe(false);
    expect(await a.reschedule(stalled.id, now, 'timeout')).toBe(false);
    expect(await a.defer(stalled.id, now)).toBe(false);
    // Untouched by a: due when b said, with b's one attempt.
    expect(await b.earliestDue('slack')).toBe(now + LEASE_MS + 5000);
    // a's post did go through after all: written, so that b does not post the card again.
    expect(await a.delivered(stalled.id)).toBe(true);
    expect(await b.nextDue('slack', now + LEASE_MS + 5000)).toBeNull();
  });

  it('a stalled replica’s success is not written over a delivery another replica gave up for good', async () => {
    const now = Date.now();
    const { stalled, taken } = await stalledAndTakenOver({ kind: 'report', payload: { projectId: 42, mergeRequestIid: 128, sha: sampleEvent.sha, statusCheckId: 7, status: 'passed' } }, now);
    expect(await b.giveUp(taken.id, 'GitLab answered 409')).toBe(true);
    expect(await a.delivered(stalled.id)).toBe(false);
    expect(await a.deliveryStats(now + LEASE_MS)).toMatchObject({ pending: 0, failed: 1 });
  });

  it('a replica stopping with deliveries still in flight keeps their leases, so nobody sends them again meanwhile', async () => {
    const now = Date.now();
    const id = await queued({ kind: 'post_card', payload: null }, now);
    expect(await a.nextDue('slack', now)).not.toBeNull();
    await a.close({ inFlight: true });
    a = await openStore(url);
    expect(await b.nextDue('slack', now + 1)).toBeNull();
    expect(await a.nextDue('slack', now + 1)).toBeNull();
    // Once the lease lapses, any replica takes it, the restarted one included.
    expect(await a.nextDue('slack', now + LEASE_MS)).toMatchObject({ checkId: id });
  });

  it('a check’s later delivery waits while another replica holds its earlier one; other checks go on', async () => {
    const now = Date.now();
    const first = await a.insertCheck(sampleEvent, 'pending', null, RULE, new Date(now)).then((c) => c.id);
    const second = await a.insertCheck({ ...sampleEvent, mergeRequestIid: sampleEvent.mergeRequestIid + 1 }, 'pending', null, RULE, new Date(now)).then((c) => c.id);
    await a.enqueue(first, { kind: 'post_card', payload: null }, new Date(now));
    await a.enqueue(first, { kind: 'update_card', payload: null }, new Date(now));
    await a.enqueue(second, { kind: 'post_card', payload: null }, new Date(now));
    const held = await a.nextDue('slack', now);
    expect(held).toMatchObject({ checkId: first, kind: 'post_card' });
    // b may not update a card that is still being posted: it takes the other check's card.
    expect(await b.nextDue('slack', now)).toMatchObject({ checkId: second, kind: 'post_card' });
    expect(await b.nextDue('slack', now)).toBeNull();
    await a.delivered(held!.id);
    expect(await b.nextDue('slack', now)).toMatchObject({ checkId: first, kind: 'update_card' });
  });

  it('claims made at the same moment by many replicas take each delivery once', async () => {
    const now = Date.now();
    for (let i = 0; i < 30; i += 1) {
      const id = await a.insertCheck({ ...sampleEvent, mergeRequestIid: 100 + i, sha: i.toString(16).padStart(40, '0') }, 'pending', null, RULE, new Date(now)).then((c) => c.id);
      await a.enqueue(id, { kind: 'post_card', payload: null }, new Date(now));
    }
    const stores = [a, b, ...(await Promise.all([openStore(url), openStore(url)]))];
    try {
      const taken: number[] = [];
      await Promise.all(
        stores.map(async (store) => {
          for (let next = await store.nextDue('slack', now); next; next = await store.nextDue('slack', now)) taken.push(next.id);
        }),
      );
      expect(taken).toHaveLength(30);
      expect(new Set(taken).size).toBe(30);
    } finally {
      await Promise.all(stores.slice(2).map((store) => store.close()));
    }
  });
});
