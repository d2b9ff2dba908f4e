import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Lane } from '../../src/domain/effects.js';
import { openStore, type Store } from '../../src/store/store.js';
import { dropPostgres } from '../support/postgres.js';
import { onPostgres, testDatabase } from '../support/database.js';
import { tempDir } from '../support/harness.js';
import { sampleEvent } from '../support/samples.js';

const RULE = { name: 'default', required: 1 };
const report = { projectId: 7, mergeRequestIid: 3, sha: 'a'.repeat(40), statusCheckId: 9, status: 'passed' as const };

/**
 * The delivery worker sleeps until the outbox tells it of new work on a lane: the notice must
 * come for every committed delivery (or a card waits for the next poll), only once it is
 * committed (or the worker looks before the row is there and sleeps again), and only for the
 * lanes that got work (or an idle lane reads the outbox on every call for nothing).
 */
describe('the outbox tells which lanes got work, once it is committed', () => {
  let dir: string;
  let location: string;
  let store: Store;
  let heard: Lane[][];

  beforeEach(async () => {
    dir = tempDir();
    location = await testDatabase(dir);
    store = await openStore(location);
    heard = [];
    store.onQueued((lanes) => heard.push([...lanes].sort()));
  });

  afterEach(async () => {
    await store.close();
    if (onPostgres) await dropPostgres(location);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('after the commit of a transaction, each lane it queued on once; nothing for one that queued nothing', async () => {
    const id = await store.insertCheck(sampleEvent, 'pending', null, RULE, new Date()).then((c) => c.id);
    await store.transaction(async () => {
      await store.enqueue(id, { kind: 'post_card', payload: null }, new Date(0));
      await store.enqueue(id, { kind: 'update_card', payload: null }, new Date(0));
      // Not yet: the worker would look before the rows are there.
      expect(heard).toEqual([]);
      await store.enqueue(id, { kind: 'report', payload: report }, new Date(0));
    });
    expect(heard).toEqual([['gitlab', 'slack']]);

    await store.transaction(() => store.audit({ checkId: id, event: 'clicked' }, new Date()));
    expect(heard).toHaveLength(1);
  });

  it('a transaction inside another tells once the outer one commits', async () => {
    const id = await store.insertCheck(sampleEvent, 'pending', null, RULE, new Date()).then((c) => c.id);
    await store.transaction(async () => {
      await store.transaction(() => store.enqueue(id, { kind: 'report', payload: report }, new Date(0)));
      expect(heard).toEqual([]);
      await store.enqueue(id, { kind: 'note', payload: { projectId: 7, mergeRequestIid: 3, body: 'withdrawn' } }, new Date(0));
    });
    expect(heard).toEqual([['gitlab']]);
  });

  it('a listener that fails does not turn a commit into a failure', async () => {
    const id = await store.insertCheck(sampleEvent, 'pending', null, RULE, new Date()).then((c) => c.id);
    store.onQueued(() => {
      throw new Error('the listener broke');
    });
    await store.transaction(() => store.enqueue(id, { kind: 'post_card', payload: null }, new Date(0)));
    await store.enqueue(id, { kind: 'report', payload: report }, new Date(0));
    expect(await store.nextDue('slack', Date.now())).toMatchObject({ checkId: id, kind: 'post_card' });
    expect(await store.nextDue('gitlab', Date.now())).toMatchObject({ checkId: id, kind: 'report' });
  });

  it('nothing for a transaction that was rolled back', async () => {
    const id = await store.insertCheck(sampleEvent, 'pending', null, RULE, new Date()).then((c) => c.id);
    await expect(
      store.transaction(async () => {
        await store.enqueue(id, { kind: 'post_card', payload: null }, new Date(0));
        throw new Error('changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    expect(heard).toEqual([]);
    expect(await store.nextDue('slack', Date.now())).toBeNull();
  });

  it('at once for a delivery queued on its own, on its lane only', async () => {
    const id = await store.insertCheck(sampleEvent, 'pending', null, RULE, new Date()).then((c) => c.id);
    await store.enqueue(id, { kind: 'report', payload: report }, new Date(0));
    expect(heard).toEqual([['gitlab']]);
    expect(await store.nextDue('gitlab', Date.now())).toMatchObject({ checkId: id, kind: 'report' });
  });
});
