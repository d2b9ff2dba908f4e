import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckState } from '../../src/domain/check.js';
import { onPostgres, testDatabase } from '../support/database.js';
import { openStore, type CheckCursor, type CheckFilter, type Store } from '../../src/store/store.js';
import { tempDir } from '../support/harness.js';
import { sampleEvent } from '../support/samples.js';

const RULE = { name: 'default', required: 1 };

/** Every check a filter reaches by following `next`, page by page. */
async function walk(store: Store, filter: Omit<CheckFilter, 'after'>): Promise<{ ids: number[]; pages: number }> {
  const ids: number[] = [];
  let after: CheckCursor | null = null;
  let pages = 0;
  do {
    const page = await store.pageOfChecks({ ...filter, after });
    ids.push(...page.checks.map((c) => c.id));
    after = page.next;
    pages += 1;
  } while (after && pages < 100);
  return { ids, pages };
}

describe('paging the web list in the store', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = tempDir();
    store = await openStore(await testDatabase(dir));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reaches every check once, even when many changed in the same millisecond', async () => {
    const at = new Date('2026-12-01T09:00:00.000Z');
    const ids: number[] = [];
    for (let iid = 1; iid <= 23; iid += 1) ids.push(await store.insertCheck({ ...sampleEvent, mergeRequestIid: iid }, 'pending', null, RULE, at).then((c) => c.id));
    // Ten closed in one instant: their order rests on the id alone.
    for (const id of ids.slice(0, 10)) await store.retire(id, 'closed', new Date('2026-12-01T10:00:00.000Z'));
    for (const [n, id] of ids.slice(10, 15).entries()) await store.retire(id, 'merged', new Date(Date.UTC(2026, 11, 1, 11, n)));

    const pending = await walk(store, { states: ['pending'], q: null, limit: 3 });
    expect(pending.ids).toEqual(ids.slice(15).reverse());
    expect(pending.pages).toBe(3);

    const decided = await walk(store, { states: ['closed', 'merged'] as CheckState[], q: null, limit: 4 });
    expect(decided.ids).toEqual([...ids.slice(10, 15).reverse(), ...ids.slice(0, 10).reverse()]);
    expect(decided.pages).toBe(4);

    const all = await walk(store, { states: null, q: null, limit: 7 });
    expect(new Set(all.ids).size).toBe(23);
    expect(all.ids).toHaveLength(23);
    expect(await store.countChecks({ states: null, q: null })).toBe(23);
  });

  it('totals per state stay true through every change of state, and match a count of the rows', async () => {
    const at = new Date('2026-12-01T09:00:00.000Z');
    const ids: number[] = [];
    for (let iid = 1; iid <= 12; iid += 1) ids.push(await store.insertCheck({ ...sampleEvent, mergeRequestIid: iid }, 'pending', null, RULE, at).then((c) => c.id));
    const actor = { via: 'slack' as const, id: 'U0A', name: 'A' };
    await store.vote(ids[0]!, { outcome: 'approve', actor, account: 'slack:U0A', reason: null, decides: true }, at);
    await store.vote(ids[1]!, { outcome: 'reject', actor, account: 'slack:U0A', reason: 'no', decides: true }, at);
    await store.markStale(ids[0]!, 'newer commit', at);
    await store.retire(ids[2]!, 'closed', at);
    await store.reopen(ids[2]!, at);
    await store.retire(ids[3]!, 'superseded', at);
    await store.retire(ids[4]!, 'merged', at);
    await store.regate(ids[1]!, RULE, true, at);
    await store.setCard(ids[5]!, 'C0A', '1.2', at);

    // The rows themselves, read through the page query, against the counts the triggers keep.
    const rows = (await store.pageOfChecks({ states: null, q: null, after: null, limit: 1000 })).checks;
    const counted = (states: readonly CheckState[] | null) => rows.filter((c) => states === null || states.includes(c.state)).length;
    for (const states of [null, ['pending'], ['stale'], ['superseded'], ['merged'], ['closed'], ['rejected'], ['approved', 'rejected', 'stale', 'superseded', 'closed', 'merged']] as Array<CheckState[] | null>) {
      expect(await store.countChecks({ states, q: null }), JSON.stringify(states)).toBe(counted(states));
    }
    expect(await store.countChecks({ states: ['pending'], q: null })).toBe(9);
  });

  it('a page that ends exactly at the last check has no next', async () => {
    for (let iid = 1; iid <= 4; iid += 1) await store.insertCheck({ ...sampleEvent, mergeRequestIid: iid }, 'pending', null, RULE, new Date()).then((c) => c.id);
    expect((await store.pageOfChecks({ states: ['pending'], q: null, after: null, limit: 4 })).next).toBeNull();
    expect((await store.pageOfChecks({ states: ['pending'], q: null, after: null, limit: 3 })).next).not.toBeNull();
  });

  it('finds words, not patterns: % and _ match themselves', async () => {
    const percent = await store.insertCheck({ ...sampleEvent, mergeRequestIid: 1, title: 'Round 100% of fees' }, 'pending', null, RULE, new Date()).then((c) => c.id);
    const underscore = await store.insertCheck({ ...sampleEvent, mergeRequestIid: 2, title: 'Rename fee_total' }, 'pending', null, RULE, new Date()).then((c) => c.id);
    const find = async (q: string) => (await store.pageOfChecks({ states: null, q, after: null, limit: 10 })).checks.map((c) => c.id);
    expect(await find('%')).toEqual([percent]);
    expect(await find('_')).toEqual([underscore]);
    expect(await find('fee_')).toEqual([underscore]);
    expect(await find('\\')).toEqual([]);
    expect(await find('!2')).toEqual([underscore]);
    expect(await find('2')).toEqual([underscore]);
  });

  it('the change mark moves when a check is added and when one changes', async () => {
    const empty = await store.changeMark();
    const id = await store.insertCheck(sampleEvent, 'pending', null, RULE, new Date('2026-12-01T09:00:00.000Z')).then((c) => c.id);
    const added = await store.changeMark();
    expect(added).not.toBe(empty);
    await store.setCardError(id, 'channel_not_found', new Date('2026-12-01T09:00:01.000Z'));
    expect(await store.changeMark()).not.toBe(added);
  });

  // SQLite's plans; PostgreSQL's are checked in query-plans-postgres.test.ts.
  it.skipIf(onPostgres)('pages by index, with no sort of the whole table', () => {
    const db = new Database(path.join(dir, 'approvals.db'), { readonly: true });
    try {
      const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('\n');
      const decided = plan(`SELECT * FROM status_check WHERE state IN ('approved') AND (updated_at < '2026' OR (updated_at = '2026' AND id < 9)) ORDER BY updated_at DESC, id DESC LIMIT 51`);
      expect(decided).toContain('status_check_by_state_change');
      expect(decided).not.toContain('TEMP B-TREE');
      const all = plan(`SELECT * FROM status_check WHERE (updated_at < '2026' OR (updated_at = '2026' AND id < 9)) ORDER BY updated_at DESC, id DESC LIMIT 51`);
      expect(all).toContain('status_check_by_change');
      expect(all).not.toContain('TEMP B-TREE');
      const pending = plan(`SELECT * FROM status_check WHERE state IN ('pending') AND id < 9 ORDER BY id DESC LIMIT 51`);
      expect(pending).toContain('status_check_by_state');
      expect(pending).not.toContain('TEMP B-TREE');
    } finally {
      db.close();
    }
  });
});
