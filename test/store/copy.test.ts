import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appHomeOpened, sendEvent } from '../../src/fakes/slack.js';
import { openStore } from '../../src/store/store.js';
import { eventually } from '../support/eventually.js';
import { APPROVER, basic, SECOND_APPROVER, SECRETS, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run db:copy` as an operator runs it: its own process, its exit code and what it printed. */
function dbCopy(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/db-copy.ts', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Row = Record<string, unknown>;

/** Left out of a copy on purpose: moments of a running bot (heartbeat, lease) and the counts PostgreSQL keeps itself. */
const NOT_COPIED = ['check_count', 'heartbeat', 'lease'];

/** Every table of the SQLite file, each row in the order of its primary key. */
function sqliteTables(file: string): Map<string, Row[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    const tables = new Map<string, Row[]>();
    for (const name of names) {
      const key = (db.prepare(`SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`).all(name) as Array<{ name: string }>).map((r) => r.name);
      tables.set(name, db.prepare(`SELECT * FROM ${name} ORDER BY ${key.join(', ')}`).all() as Row[]);
    }
    return tables;
  } finally {
    db.close();
  }
}

/** PostgreSQL's int8 as numbers, as the store reads them (every value the bot keeps fits). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

async function withPostgres<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, types });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Every table of the PostgreSQL database (but the migrations' own record), each row in the order of its primary key. */
function postgresTables(url: string): Promise<Map<string, Row[]>> {
  return withPostgres(url, async (client) => {
    const names = (await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_version' ORDER BY 1")).rows.map((r) => r.name);
    const tables = new Map<string, Row[]>();
    for (const name of names) {
      const key = (
        await client.query<{ name: string }>(
          `SELECT a.attname AS name FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
          [name],
        )
      ).rows.map((r) => r.name);
      tables.set(name, (await client.query<Row>(`SELECT * FROM ${name} ORDER BY ${key.join(', ')}`)).rows);
    }
    return tables;
  });
}

/**
 * An operator moves a bot's SQLite file into PostgreSQL before running several replicas:
 * everything the bot kept arrives row for row, and the bot carries on from there.
 */
describe.runIf(postgresReady)('copying a SQLite database into PostgreSQL (npm run db:copy)', () => {
  let h: Harness;
  let url: string;
  let file: string;
  let copied: Run;
  const ids: Record<'approved' | 'rejected' | 'superseded' | 'superseding' | 'pending' | 'refused', number> = {
    approved: 0,
    rejected: 0,
    superseded: 0,
    superseding: 0,
    pending: 0,
    refused: 0,
  };
  const pendingCall = statusCheck({ iid: 204, title: 'Still waiting after the move', sha: sha(204) });

  beforeAll(async () => {
    url = await freshPostgres();
    h = await startHarness();
    file = h.env.DATABASE_PATH as string;

    // Checks received; one approved in Slack, one rejected with a reason, one superseded by a newer commit.
    const receive = async (call: ReturnType<typeof statusCheck>) => (await h.receive(call)).body.id as number;
    ids.approved = await receive(statusCheck({ iid: 201, title: 'Approved before the move', sha: sha(201) }));
    ids.rejected = await receive(statusCheck({ iid: 202, title: 'Rejected before the move', sha: sha(202) }));
    ids.superseded = await receive(statusCheck({ iid: 203, title: 'Superseded before the move', sha: sha(203) }));
    ids.pending = await receive(pendingCall);
    ids.refused = await receive(statusCheck({ iid: 205, title: 'Report refused before the move', sha: sha(205) }));
    await h.slack.waitFor('chat.postMessage', 5, () => true, 20_000);

    expect((await h.click(APPROVER, 'approve_check', ids.approved)).status).toBe(200);
    expect((await h.submitReject(APPROVER, ids.rejected, 'No rollback plan; see <https://evil.example|here> & ask *ops*')).status).toBe(200);
    ids.superseding = await receive(statusCheck({ iid: 203, title: 'Superseded before the move', sha: sha(2030) }));
    await h.gitlab.waitForResponses(2, 20_000);

    // A report GitLab refuses for good: the delivery stays, failed.
    h.gitlab.queue({ status: 404, body: { message: '404 Not Found' } });
    expect((await h.click(SECOND_APPROVER, 'approve_check', ids.refused)).status).toBe(200);
    await eventually('the refused report kept as failed', async () => ((await h.bot.store.deliveryStats(Date.now())).failed === 1 ? true : undefined), 20_000);

    // Someone opened the Home tab.
    expect((await sendEvent(`${h.bot.url}/slack/events`, appHomeOpened(APPROVER), SECRETS.signingSecret)).status).toBe(200);
    await h.slack.waitFor('views.publish', 1, () => true, 20_000);
    // Everything the bot owes Slack delivered, so the file holds no work in flight.
    await eventually('the outbox settled', async () => ((await h.bot.store.deliveryStats(Date.now())).pending === 0 ? true : undefined), 20_000);
    await h.bot.stop();

    // What the harness does not reach, through the store's own methods: a reminder due for the
    // pending check, the accounts a sign-in saw, and a click taken in but not yet settled.
    const store = await openStore(file);
    await store.scheduleNudge(ids.pending, 'remind', Date.now() + 24 * 3600_000);
    await store.sighted('gitlab:alice', 'email:alice@example.com', new Date('2026-11-30T08:00:00Z'));
    await store.sighted('gitlab:alice', 'gitlab-user:7', new Date('2026-11-30T08:00:01Z'));
    await store.sighted('slack:U0APPROVER', 'email:alice@example.com', new Date('2026-11-30T08:00:02Z'));
    await store.takeRequest(ids.rejected, 'approve', { via: 'slack', id: APPROVER, name: APPROVER }, null, new Date('2026-11-30T08:00:03Z'));
    await store.close();

    copied = await dbCopy('--from', file, '--to', url);
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
    if (url) await dropPostgres(url);
  });

  it('copies every table row for row, and says how many rows it copied', async () => {
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    const source = sqliteTables(file);
    const target = await postgresTables(url);
    expect([...target.keys()].sort()).toEqual([...source.keys()].sort());

    // Something of everything: none of these tables was copied empty.
    for (const table of ['status_check', 'decision', 'delivery', 'audit_event', 'decision_request', 'nudge', 'home_tab', 'account_sighting', 'shared_key']) {
      expect(source.get(table)?.length, table).toBeGreaterThan(0);
    }
    for (const [table, rows] of source) {
      if (NOT_COPIED.includes(table)) continue;
      expect(target.get(table), table).toEqual(rows);
      expect(copied.stdout).toContain(`${table}: ${rows.length} rows\n`);
    }
    expect(source.get('status_check')!.map((r) => r.state)).toEqual(['approved', 'rejected', 'superseded', 'pending', 'approved', 'pending']);
    expect(source.get('delivery')!.map((r) => r.state)).toEqual(['failed']);
    const total = [...source].filter(([table]) => !NOT_COPIED.includes(table)).reduce((sum, [, rows]) => sum + rows.length, 0);
    expect(copied.stdout).toMatch(new RegExp(`^Copied ${total} rows from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in \\d+\\.\\d s\\.`, 'm'));
  });

  it("keeps PostgreSQL's count of checks per state equal to the checks it holds", async () => {
    const counts = await withPostgres(url, async (client) => ({
      kept: (await client.query<{ state: string; n: number }>('SELECT state, CAST(sum(n) AS INTEGER) AS n FROM check_count GROUP BY state HAVING sum(n) <> 0 ORDER BY state')).rows,
      real: (await client.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM status_check GROUP BY state ORDER BY state')).rows,
    }));
    expect(counts.kept).toEqual(counts.real);
    expect(counts.real).toEqual([
      { state: 'approved', n: 2 },
      { state: 'pending', n: 2 },
      { state: 'rejected', n: 1 },
      { state: 'superseded', n: 1 },
    ]);
  });

  it('refuses a second copy into the same database, naming the problem, and changes nothing', async () => {
    const before = await postgresTables(url);
    const again = await dbCopy('--from', file, '--to', url);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('The PostgreSQL database is not empty (status_check holds rows): copy into an empty database');
    expect(again.stdout).toBe('');
    expect(await postgresTables(url)).toEqual(before);
  });

  it('carries on on PostgreSQL: the pending check is decided and reported, new checks get new ids, the web list shows the history', async () => {
    h.env.DATABASE_URL = url;
    await h.restart();
    const maxCopied = Math.max(...Object.values(ids));

    expect(await h.bot.store.getCheck(ids.pending)).toMatchObject({ state: 'pending', title: 'Still waiting after the move' });
    const reportsBefore = h.gitlab.responses.length;
    expect((await h.click(APPROVER, 'approve_check', ids.pending)).status).toBe(200);
    const [report] = await h.gitlab.requests.waitFor((c) => c.path === '/api/v4/projects/42/merge_requests/204/status_check_responses', 1, 20_000);
    expect(report!.body).toMatchObject({ sha: sha(204), status: 'passed' });
    await eventually('the copied pending check approved and reported', async () => {
      const check = await h.bot.store.getCheck(ids.pending);
      return check?.state === 'approved' && check.report === 'reported' ? check : undefined;
    }, 20_000);
    expect(h.gitlab.responses.length).toBeGreaterThan(reportsBefore);
    // The card the SQLite bot posted is the one updated.
    const copiedCard = sqliteTables(file).get('status_check')!.find((row) => row.id === ids.pending)!;
    expect(copiedCard.slack_ts).toEqual(expect.any(String));
    await h.slack.waitFor('chat.update', 1, (c) => c.body.ts === copiedCard.slack_ts && c.body.channel === copiedCard.slack_channel, 20_000);

    const fresh = (await h.receive(statusCheck({ iid: 206, title: 'The first check on PostgreSQL', sha: sha(206) }))).body.id as number;
    expect(fresh).toBeGreaterThan(maxCopied);

    const res = await fetch(`${h.bot.url}/?state=all`, { headers: { authorization: basic() } });
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const title of ['Approved before the move', 'Rejected before the move', 'Superseded before the move', 'Report refused before the move', 'Still waiting after the move', 'The first check on PostgreSQL']) {
      expect(html).toContain(title);
    }
    const rejected = await h.bot.store.getCheck(ids.rejected);
    expect(rejected).toMatchObject({ state: 'rejected', decidedBy: APPROVER, reason: 'No rollback plan; see <https://evil.example|here> & ask *ops*' });
    expect(html).not.toContain('<https://evil.example|here>');
    expect(html).toContain('No rollback plan; see &lt;https://evil.example|here&gt; &amp; ask *ops*');
  }, 60_000);

  it('answers a bad --to with its usage (exit 64), and copies nothing', async () => {
    for (const to of [['--to', 'mysql://root:hunter2@127.0.0.1/approvals'], ['--to', '/tmp/approvals.db'], []]) {
      const run = await dbCopy('--from', file, ...to);
      expect(run.code, to.join(' ')).toBe(64);
      expect(run.stderr).toContain('Usage: npm run db:copy -- --from /data/approvals.db --to postgres://');
      expect(run.stderr).not.toContain('hunter2');
    }
    const run = await dbCopy('--to', url);
    expect(run.code).toBe(64);
  });

  it('refuses a --from that names no file, and leaves no file behind', async () => {
    const missing = path.join(path.dirname(file), 'no-such-dir', 'approvals.db');
    const target = await freshPostgres();
    try {
      const run = await dbCopy('--from', missing, '--to', target);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${missing} does not exist`);
      expect(fs.existsSync(path.dirname(missing))).toBe(false);
    } finally {
      await dropPostgres(target);
    }
  });

  it('never prints the password of the URL when a copy fails', async () => {
    const secret = 'S3cret-Pa55word';
    const server = new URL(url);
    const wrong = (change: (u: URL) => void) => {
      const u = new URL(url);
      u.username = 'copier';
      u.password = secret;
      change(u);
      return u.toString();
    };
    const targets = {
      'a database that does not exist': wrong((u) => (u.pathname = '/no_such_database')),
      'a server that does not answer': wrong((u) => (u.port = String(Number(server.port) === 1 ? 2 : 1))),
      'a user that does not exist': wrong(() => undefined),
      'TLS the server does not offer': wrong((u) => u.searchParams.set('sslmode', 'require')),
      'a port out of range': `postgres://copier:${secret}@127.0.0.1:99999/approvals`,
      'a password that is not valid percent-encoding': `postgres://copier:${secret}%zz@127.0.0.1:${server.port}/approvals`,
    };
    for (const [what, to] of Object.entries(targets)) {
      const run = await dbCopy('--from', file, '--to', to);
      expect(run.code, what).toBe(1);
      expect(run.stderr, what).toMatch(/^The copy failed, and PostgreSQL was left as it was: \S/m);
      expect(run.stdout + run.stderr, what).not.toContain(secret);
      expect(run.stdout + run.stderr, what).not.toContain(encodeURIComponent(secret));
    }
  });
});

/**
 * What PostgreSQL cannot hold, SQLite can: a NUL character in text people or GitLab sent,
 * kept by versions before the edge replaced it.
 */
describe.runIf(postgresReady)('copying text PostgreSQL cannot store', () => {
  let h: Harness;
  let url: string;

  beforeAll(async () => {
    url = await freshPostgres();
    h = await startHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    if (url) await dropPostgres(url);
  });

  it('copies a NUL character in a title or a reason as U+FFFD, and says how many values it changed', async () => {
    const id = (await h.receive(statusCheck({ iid: 301, title: 'Title with a NUL', sha: sha(301) }))).body.id as number;
    await h.slack.waitFor('chat.postMessage', 1, () => true, 20_000);
    expect((await h.submitReject(APPROVER, id, 'Reason with a NUL')).status).toBe(200);
    await h.gitlab.waitForResponses(1, 20_000);
    await eventually('the outbox settled', async () => ((await h.bot.store.deliveryStats(Date.now())).pending === 0 ? true : undefined), 20_000);
    await h.bot.stop();
    const file = h.env.DATABASE_PATH as string;
    // As an older version stored them: the NUL as it came.
    const old = new Database(file);
    old.prepare(`UPDATE status_check SET merge_request_title = 'Title with a' || char(0) || 'NUL', reason = 'Reason with a' || char(0) || 'NUL'`).run();
    old.prepare(`UPDATE decision SET reason = 'Reason with a' || char(0) || 'NUL'`).run();
    old.close();
    const source = sqliteTables(file);
    expect(source.get('status_check')![0]).toMatchObject({ merge_request_title: 'Title with a\u0000NUL', reason: 'Reason with a\u0000NUL' });

    const run = await dbCopy('--from', file, '--to', url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('status_check: 1 rows (2 texts held a NUL character or a broken surrogate, which PostgreSQL cannot store: copied with U+FFFD in its place)\n');
    expect(run.stdout).toContain('decision: 1 rows (1 text held a NUL character or a broken surrogate, which PostgreSQL cannot store: copied with U+FFFD in its place)\n');

    const target = await postgresTables(url);
    const replaced = (rows: Row[]) => rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? v.replaceAll('\u0000', '\uFFFD') : v])));
    for (const [table, rows] of source) if (!NOT_COPIED.includes(table)) expect(target.get(table), table).toEqual(replaced(rows));
    expect(target.get('status_check')![0]).toMatchObject({ merge_request_title: 'Title with a\uFFFDNUL', reason: 'Reason with a\uFFFDNUL' });
  }, 60_000);
});
