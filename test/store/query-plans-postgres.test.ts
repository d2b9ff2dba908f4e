import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { STATE_FILTERS, type StateFilter } from '../../src/web/list-query.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';
import { PLANS_AT, seedForPlans } from '../support/query-plans.js';

/** The tables that grow with the checks: reading one from end to end costs more every day. */
const GROWING = ['status_check', 'decision', 'audit_event', 'delivery', 'nudge'];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Sort Key'?: string[];
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

const describePlan = (nodes: PlanNode[]) =>
  nodes.map((n) => [n['Node Type'], n['Relation Name'], n['Index Name'], n['Sort Key']?.join(', ')].filter(Boolean).join(' ')).join(' | ');

/**
 * The reads of query-plans.test.ts, on PostgreSQL: each runs through the real store, and each
 * SELECT it sent is explained by PostgreSQL with the values it was sent with. The tables are
 * small in a test, where a scan is what the planner likes best: with scans priced out
 * (enable_seqscan off), a Seq Scan left in the plan means no index serves the query. A Sort is
 * looked for in a second plan with sorts priced out too (enable_sort off): one left there means
 * no index gives the rows in the order asked for. (Sorts stay on for the first plan, or the
 * planner would walk a whole primary key in order to avoid sorting five rows.)
 */
describe.runIf(postgresReady)('query plans on PostgreSQL of the reads behind every page and Slack answer', () => {
  let url: string;
  let store: Store;
  let explainer: pg.Client;
  let traced: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  const at = PLANS_AT;

  beforeAll(async () => {
    url = await freshPostgres();
    store = await openStore(url, { trace: (sql, parameters) => traced.push({ sql, parameters }) });
    await seedForPlans(store, at);
    explainer = new pg.Client({ connectionString: url });
    await explainer.connect();
    // Statistics as a real database has them (autovacuum would have run by now).
    await explainer.query('ANALYZE');
    await explainer.query('SET enable_seqscan = off');
  }, 60_000);

  afterAll(async () => {
    await explainer?.end();
    await store?.close();
    if (url) await dropPostgres(url);
  });

  /** What PostgreSQL plans for each query that `read` runs, given the values it ran with. */
  async function plansOf(read: () => Promise<unknown>): Promise<Array<{ sql: string; nodes: PlanNode[]; unsorted: PlanNode[] }>> {
    traced = [];
    await read();
    // A write that finds its rows with a query (a replica claiming the next delivery) is a read too;
    // EXPLAIN without ANALYZE plans it without running it.
    const selects = traced.filter(({ sql }) => /^\s*(select|with)\b/i.test(sql) || /^\s*(update|delete)\b[\s\S]*\(select\b/i.test(sql));
    expect(selects.length).toBeGreaterThan(0);
    const explain = async (sql: string, parameters: readonly unknown[]) => {
      const { rows } = await explainer.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${sql}`, [...parameters]);
      return nodesOf(rows[0]!['QUERY PLAN'][0]!.Plan);
    };
    const plans: Array<{ sql: string; nodes: PlanNode[]; unsorted: PlanNode[] }> = [];
    for (const { sql, parameters } of selects) {
      const nodes = await explain(sql, parameters);
      await explainer.query('SET enable_sort = off');
      try {
        plans.push({ sql, nodes, unsorted: await explain(sql, parameters) });
      } finally {
        await explainer.query('RESET enable_sort');
      }
    }
    return plans;
  }

  /**
   * Fails with the statement and its plan when it scans a growing table or sorts what an index
   * could have given in order. `sorts`: a read that sorts a handful of rows found by index (one
   * check's votes) may.
   */
  async function expectIndexed(read: () => Promise<unknown>, options: { sorts?: boolean } = {}): Promise<void> {
    for (const { sql, nodes, unsorted } of await plansOf(read)) {
      const where = `${sql.replace(/\s+/g, ' ')}\n  plan: ${describePlan(nodes)}\n  plan without sorts: ${describePlan(unsorted)}`;
      if (process.env.SHOW_PLANS) console.log(where);
      for (const plan of [nodes, unsorted]) {
        expect(plan.filter((n) => n['Node Type'] === 'Seq Scan' && GROWING.includes(n['Relation Name'] ?? '')).map((n) => n['Relation Name']), where).toEqual([]);
      }
      // Sort and Incremental Sort alike: both sort rows the index did not give in order.
      if (!options.sorts) expect(unsorted.filter((n) => /Sort/.test(n['Node Type'])).map((n) => `${n['Node Type']} ${n['Sort Key']?.join(', ')}`), where).toEqual([]);
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
    // Sorting one check's few votes is fine: they are found by the check's index.
    await expectIndexed(() => store.getCheck(2), { sorts: true });
  });

  it("a check's history page and /audit?check=: by check, in time order", async () => {
    await expectIndexed(() => store.auditEvents({ from: new Date(0), to: new Date(at.getTime() + 1000), checkId: 3, limit: 100_000 }));
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
    expect(plans.flatMap(({ nodes }) => nodes.map((n) => n['Index Name'])).filter(Boolean)).toContain('status_check_pending_by_author');
  });

  it('the work queues: cards to post again, reminders due, the outbox', async () => {
    await expectIndexed(() => store.checksWithoutCard());
    await expectIndexed(() => store.dueNudges(at.getTime() + 100, 50));
    await expectIndexed(() => store.nextDue('slack', at.getTime()));
    await expectIndexed(() => store.nextDue('gitlab', at.getTime()));
  });

  it('the web list’s change mark reads one end of an index, not all of it', async () => {
    await expectIndexed(() => store.changeMark());
  });
});
