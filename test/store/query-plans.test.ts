import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_FILTERS, type StateFilter } from '../../src/web/list-query.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../support/harness.js';
import { PLANS_AT, seedForPlans } from '../support/query-plans.js';

/**
 * Every page and Slack answer must read through an index that matches its query, so that it
 * costs the same at a million checks as at ten. Each read runs through the real store; the
 * statements it ran (with their values) are explained by SQLite itself.
 */
describe('query plans of the reads behind every page and Slack answer', () => {
  let dir: string;
  let store: Store;
  let explainer: Database.Database;
  let traced: string[] = [];
  const at = PLANS_AT;

  beforeAll(async () => {
    dir = tempDir();
    const file = path.join(dir, 'approvals.db');
    store = await openStore(file, { trace: (sql) => traced.push(sql) });
    await seedForPlans(store, at);
    explainer = new Database(file, { readonly: true });
  });

  afterAll(async () => {
    explainer.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What SQLite plans for each SELECT that `read` runs. */
  async function plansOf(read: () => Promise<unknown>): Promise<Array<{ sql: string; plan: string[] }>> {
    traced = [];
    await read();
    const selects = traced.filter((sql) => /^\s*(SELECT|WITH)/i.test(sql));
    expect(selects.length).toBeGreaterThan(0);
    return selects.map((sql) => ({
      sql,
      plan: (explainer.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((row) => row.detail),
    }));
  }

  /** Fails with the statement and its plan when it scans a big table or sorts on the side. */
  async function expectIndexed(read: () => Promise<unknown>): Promise<void> {
    for (const { sql, plan } of await plansOf(read)) {
      if (process.env.SHOW_PLANS) console.log(sql.replace(/\s+/g, ' '), '\n   ', plan.join(' | '));
      const where = `${sql.replace(/\s+/g, ' ')}\n  plan: ${plan.join(' | ')}`;
      expect(plan.some((step) => /USING (COVERING )?INDEX|USING (INTEGER )?PRIMARY KEY|USING ROWID/.test(step)), where).toBe(true);
      // Sorting one check's few votes is fine; sorting a whole table is what must not happen.
      const oneCheck = /^SEARCH decision USING (COVERING )?INDEX \w+ \(check_id=\?/.test(plan[0] ?? '');
      if (!oneCheck) expect(plan.filter((step) => /TEMP B-TREE FOR ORDER BY/.test(step)), where).toEqual([]);
      // A full scan of any table (named by its alias in a join) grows with it.
      expect(plan.filter((step) => /^SCAN \w+$/.test(step)), where).toEqual([]);
    }
  }

  const filters = Object.keys(STATE_FILTERS) as StateFilter[];
  it.each(filters)('the web list, state %s: the first page, a later page and the count', async (filter) => {
    const states = STATE_FILTERS[filter].states;
    await expectIndexed(() => store.pageOfChecks({ states, q: null, after: null, limit: 5 }));
    const next = (await store.pageOfChecks({ states, q: null, after: null, limit: 5 })).next;
    expect(next).not.toBeNull();
    await expectIndexed(() => store.pageOfChecks({ states, q: null, after: next, limit: 5 }));
    await expectIndexed(() => store.countChecks({ states, q: null }));
  });

  it('a check: the row and the approvals that count', async () => {
    await expectIndexed(() => store.getCheck(2));
  });

  it("a check's history page and /audit?check=: by check, in time order", async () => {
    await expectIndexed(() => store.auditEvents({ from: new Date(0), to: new Date(at.getTime() + 1000), checkId: 3, limit: 100_000 }));
    // The export's later batches, after the last event of the one before.
    await expectIndexed(() => store.auditEvents({ from: new Date(0), to: new Date(at.getTime() + 1000), checkId: 3, after: { at, id: 1 }, limit: 1000 }));
  });

  it('the audit export of a time range: by time', async () => {
    await expectIndexed(() => store.auditEvents({ from: at, to: new Date(at.getTime() + 1000), limit: 1000 }));
    await expectIndexed(() => store.auditEvents({ from: at, to: new Date(at.getTime() + 1000), after: { at, id: 1 }, limit: 1000 }));
  });

  it('/pending and the Home tab: pending checks page by page, counted by rule, and a person’s votes', async () => {
    await expectIndexed(() => store.pendingByRule());
    await expectIndexed(() => store.countPending());
    await expectIndexed(() => store.decisionsBy('slack', 'U0A', 10));
    await expectIndexed(() => store.pendingAuthoredBy('someone@example.com', 50));
  });

  it('a person’s own pending checks (the Home tab): found by the author’s e-mail, not among all pending', async () => {
    const plans = await plansOf(() => store.pendingAuthoredBy('Someone@Example.com', 50));
    expect(plans.map(({ plan }) => plan.join(' | ')).join('\n')).toContain('status_check_pending_by_author');
  });

  it('the work queues: cards to post again, reminders due, the outbox', async () => {
    await expectIndexed(() => store.checksWithoutCard());
    await expectIndexed(() => store.dueNudges(at.getTime() + 100, 50));
    await expectIndexed(() => store.nextDue('slack', at.getTime()));
    await expectIndexed(() => store.nextDue('gitlab', at.getTime()));
  });

  it('the web list’s change mark reads one end of an index, not all of it', async () => {
    await expectIndexed(() => store.changeMark());
    for (const { plan } of await plansOf(() => store.changeMark())) expect(plan.filter((step) => /^SCAN (?!CONSTANT ROW)/.test(step))).toEqual([]);
  });
});
