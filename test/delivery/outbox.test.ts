import fs from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryHandlers } from '../../src/delivery/handlers.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { EFFECT_KINDS, LANE_OF } from '../../src/domain/effects.js';
import { Recorder } from '../../src/fakes/recorder.js';
import { createLogger } from '../../src/logging.js';
import { openStore, type Store } from '../../src/store/store.js';
import { onPostgres, testDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { tempDir } from '../support/harness.js';
import { sampleEvent } from '../support/samples.js';

describe('the typed outbox', () => {
  let dir: string;
  let location: string;
  let store: Store;
  let worker: DeliveryWorker<'report'> | null = null;
  beforeEach(async () => {
    dir = tempDir();
    location = await testDatabase(dir);
    store = await openStore(location);
  });
  afterEach(async () => {
    await worker?.stop(1000);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** SQL on the database itself, past the store, as another program would write it ($1, $2... on both). */
  const raw = async (text: string, params: unknown[] = []): Promise<unknown[]> => {
    if (!onPostgres) {
      const db = new Database(location);
      try {
        const statement = db.prepare(text.replace(/\$\d+/g, '?'));
        return statement.reader ? statement.all(...params) : (statement.run(...params), []);
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };

  const check = () => store.insertCheck(sampleEvent, 'pending', null, { name: 'default', required: 1 }, new Date()).then((c) => c.id);

  it('puts each kind on its lane, and reads back what was written', async () => {
    const id = await check();
    const report = { projectId: 7, mergeRequestIid: 3, sha: 'a'.repeat(40), statusCheckId: 9, status: 'passed' as const };
    await store.enqueue(id, { kind: 'report', payload: report }, new Date(0));
    await store.enqueue(id, { kind: 'remind', payload: { waitedMs: 60_000 } }, new Date(0));
    expect(await store.nextDue('gitlab', Date.now())).toMatchObject({ checkId: id, lane: 'gitlab', kind: 'report', payload: report });
    expect(await store.nextDue('slack', Date.now())).toMatchObject({ checkId: id, lane: 'slack', kind: 'remind', payload: { waitedMs: 60_000 } });
    expect(EFFECT_KINDS.filter((kind) => LANE_OF[kind] === 'gitlab').sort()).toEqual(['note', 'report']);
  });

  it('a kind that does not exist, a payload that does not fit its kind, or a missing handler does not compile', () => {
    const at = new Date(0);
    // Never called: what matters is that each line fails to compile.
    const wrong = [
      // @ts-expect-error a typo in the kind
      () => store.enqueue(1, { kind: 'post_crad', payload: null }, at),
      // @ts-expect-error a report without its commit
      () => store.enqueue(1, { kind: 'report', payload: { projectId: 1, mergeRequestIid: 1, statusCheckId: 1, status: 'passed' } }, at),
      // @ts-expect-error a handler map that lacks kinds
      (): DeliveryHandlers => ({ post_card: { deliver: async () => undefined } }),
    ];
    expect(wrong).toHaveLength(3);
  });

  it('rows written by earlier versions are read as they were; one this build cannot read is given up with the reason', async () => {
    const id = await check();
    // As an earlier version wrote them: kind and JSON payload, lane spelt out.
    const rows: [string, string][] = [
      ['report', JSON.stringify({ projectId: 1, mergeRequestIid: 2, sha: 'b'.repeat(40), statusCheckId: 3, status: 'failed', withdrawal: true })],
      ['teleport', '{}'],
      ['report', JSON.stringify({ status: 'maybe' })],
    ];
    for (const [kind, payload] of rows) {
      await raw('INSERT INTO delivery (check_id, lane, kind, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [id, 'gitlab', kind, payload, 0, new Date(0).toISOString()]);
    }

    const sent = new Recorder<{ withdrawal: boolean | undefined }>();
    worker = new DeliveryWorker({
      store,
      log: createLogger('silent'),
      baseDelayMs: 10,
      maxDelayMs: 10,
      handlers: { report: { deliver: async ({ payload }) => void sent.push({ withdrawal: payload.withdrawal }) } },
    });
    worker.start();
    await sent.waitFor(() => true, 1);
    await eventually('the unreadable rows given up', async () => ((await store.deliveryStats(Date.now())).failed === 2 ? true : undefined));
    expect(sent.calls).toEqual([{ withdrawal: true }]);
    const failed = await raw(`SELECT kind, last_error FROM delivery WHERE state = 'failed' ORDER BY id`);
    expect(failed).toEqual([
      { kind: 'teleport', last_error: expect.stringContaining('no handler for teleport') },
      { kind: 'report', last_error: expect.stringMatching(/report delivery's payload does not fit: projectId/) },
    ]);
  });
});
