import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations.js';
import { tempDir } from '../support/harness.js';
import { freshPostgres, postgresReady } from '../support/postgres.js';

describe('the SQLite migrations that shipped', () => {
  it('are byte for byte what existing databases ran', () => {
    // Databases in the field are at one of these: changing a shipped text would leave them on a schema no build describes.
    const shipped = [
      '36f180652b404f4dfcd72bf7c0b2755b55e83efa5897d24ad75698a90711e325',
      '4fa23ff10523f86c5d6bc1294adc609cd2590e58bfbb80a2b5f8a584f955d290',
      'e3e80b9fd1caaf884180385dd5119e12d59e6e6f6a80a76e3c4c15dce1d474ec',
      'ccef02a9180b49ce514f44fe0dbeaf0004b27ee7536b9b894574ef4081a104f6',
      'bc4e441c9e26603a797b2c869014f5996abb3f15c41da632487837b6321b9c5f',
      'e4628b7fba1fc0c146000c565c45408325006cd43c6d98541eab9e7bb763c843',
      '0b85010d8802f3beda929cc2f98eb5daf1316279178d818513289f1635e3a06f',
      '0f1283328c8d08ea376593a18b1555462cd408d7fc90ea37cded70759c717846',
      'ad07b18cd963a9b5f459cbd401deb4a9171131023026a909b8fb7604fac16625',
    ];
    const hashes = migrations.slice(0, shipped.length).map((m) => createHash('sha256').update(m.sqlite).digest('hex'));
    expect(hashes).toEqual(shipped);
  });
});

/**
 * The same migrations, the same statements, on both databases: SQLite as the store opens it
 * (foreign keys on) and a fresh PostgreSQL database. Data written between migrations proves the
 * ones that move data (7 and 9) do the same on both.
 */
describe.runIf(postgresReady)('the PostgreSQL schema', () => {
  let dir: string;
  let lite: Database.Database;
  let pgc: pg.Client;

  /** Runs migrations up to `version` (1-based, inclusive) on both, each in a transaction. */
  async function migrateTo(version: number): Promise<void> {
    for (let index = lite.pragma('user_version', { simple: true }) as number; index < version; index += 1) {
      const migration = migrations[index] as (typeof migrations)[number];
      lite.transaction(() => {
        lite.exec(migration.sqlite);
        lite.pragma(`user_version = ${index + 1}`);
      })();
      await pgc.query('BEGIN');
      try {
        await pgc.query(migration.postgres);
        await pgc.query('COMMIT');
      } catch (error) {
        await pgc.query('ROLLBACK');
        throw new Error(`PostgreSQL migration ${index + 1}: ${(error as Error).message}`);
      }
    }
  }

  /** One statement, `?` placeholders, on both databases; what each said. */
  async function onBoth(sql: string, ...params: unknown[]): Promise<{ sqlite: Outcome; postgres: Outcome }> {
    let sqlite: Outcome;
    try {
      const statement = lite.prepare(sql);
      sqlite = { ok: true, rows: statement.reader ? (statement.all(...params) as Row[]) : (statement.run(...params), []) };
    } catch (error) {
      sqlite = { ok: false, error: (error as Error).message };
    }
    let postgres: Outcome;
    let n = 0;
    try {
      const result = await pgc.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
      postgres = { ok: true, rows: result.rows as Row[] };
    } catch (error) {
      postgres = { ok: false, error: (error as Error).message };
    }
    return { sqlite, postgres };
  }

  /** Runs on both and expects both to accept it; returns the rows, the same on both. */
  async function accepted(sql: string, ...params: unknown[]): Promise<Row[]> {
    const { sqlite, postgres } = await onBoth(sql, ...params);
    expect({ sql, sqlite: sqlite.ok ? 'accepted' : sqlite.error }).toEqual({ sql, sqlite: 'accepted' });
    expect({ sql, postgres: postgres.ok ? 'accepted' : postgres.error }).toEqual({ sql, postgres: 'accepted' });
    const rows = (sqlite as { rows: Row[] }).rows;
    expect((postgres as { rows: Row[] }).rows).toEqual(rows);
    return rows;
  }

  /** Runs on both and expects both to refuse it. */
  async function refused(sql: string, ...params: unknown[]): Promise<{ sqlite: string; postgres: string }> {
    const { sqlite, postgres } = await onBoth(sql, ...params);
    expect({ sql, sqlite: sqlite.ok ? 'accepted' : 'refused' }).toEqual({ sql, sqlite: 'refused' });
    expect({ sql, postgres: postgres.ok ? 'accepted' : 'refused' }).toEqual({ sql, postgres: 'refused' });
    return { sqlite: (sqlite as { error: string }).error, postgres: (postgres as { error: string }).error };
  }

  const insertCheck = (id: number, state: string, extra: { project?: string; sha?: string } = {}) =>
    accepted(
      `INSERT INTO status_check (id, project_id, project_path, project_url, merge_request_iid, merge_request_title, merge_request_url,
         source_branch, target_branch, sha, external_status_check_id, external_status_check_name, merge_request_state, state,
         received_at, updated_at)
       VALUES (?, 42, ?, 'https://gitlab.example.com/acme/api', ?, 'Title', 'https://gitlab.example.com/acme/api/-/merge_requests/1',
         'feature', 'main', ?, 7, 'Security review', 'opened', ?, '2026-12-01T10:00:00.000Z', '2026-12-01T10:00:00.000Z')`,
      id,
      extra.project ?? 'acme/api',
      id,
      extra.sha ?? `sha-${id}`,
      state,
    );

  const vote = (checkId: number, actorId: string, via: string, person: string | null) =>
    accepted(
      `INSERT INTO decision (check_id, outcome, actor_id, actor_name, via, sha, decided_at, person)
       VALUES (?, 'approve', ?, 'Name', ?, 'sha', '2026-12-01T11:00:00.000Z', ?)`,
      checkId,
      actorId,
      via,
      person,
    );

  beforeAll(async () => {
    dir = tempDir();
    lite = new Database(path.join(dir, 'approvals.db'));
    lite.pragma('foreign_keys = ON');
    // BIGINT (ids, counts, epoch milliseconds) as numbers, as SQLite gives them; node-postgres's default is a string.
    pgc = new pg.Client({
      connectionString: await freshPostgres(),
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
    });
    await pgc.connect();

    // Checks and votes as a version before accounts (migration 7) and the per-state counts (9) left them.
    await migrateTo(6);
    await insertCheck(1, 'pending');
    await insertCheck(2, 'approved');
    await insertCheck(3, 'approved');
    await insertCheck(4, 'rejected');
    // The old ways a vote named its person, in any case: SQLite's LIKE ignores the case of ASCII letters.
    await vote(1, 'U0SLACK', 'slack', 'slack:U0SLACK');
    await vote(1, 'U0LOUD', 'slack', 'SLACK:U0LOUD');
    await vote(1, 'KPatel', 'web', 'gitlab:KPatel');
    await vote(1, 'k.shout', 'web', 'GitLab:KShout');
    await vote(1, 'alice', 'web', 'password:alice');
    await vote(1, 'sam', 'slack', 'email:sam@example.com');
    await vote(1, 'kiran.p', 'web', 'Email:Kiran@Example.com');
    await vote(1, 'Unknown', 'web', null);
    await vote(1, 'U0NULL', 'slack', null);
    await migrateTo(migrations.length);
  });

  afterAll(async () => {
    await pgc?.end();
    lite?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has every migration, and runs each as one transaction', async () => {
    expect(lite.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(migrations.length).toBeGreaterThanOrEqual(10);
  });

  it('has the same tables, with the same columns in the same order, nullability, defaults and kinds of type', async () => {
    expect(await postgresColumns()).toEqual(sqliteColumns());
  });

  it('keeps ids as identities a copy can set, epoch milliseconds as BIGINT, and text in byte order', async () => {
    const columns = (
      await pgc.query(
        `SELECT table_name, column_name, data_type, is_identity, identity_generation, collation_name
           FROM information_schema.columns WHERE table_schema = 'public'`,
      )
    ).rows as { table_name: string; column_name: string; data_type: string; is_identity: string; identity_generation: string | null; collation_name: string | null }[];
    const ids = columns.filter((c) => c.column_name === 'id' && c.table_name !== 'heartbeat');
    expect(ids.length).toBeGreaterThan(5);
    for (const id of ids) expect({ table: id.table_name, type: id.data_type, identity: id.identity_generation }).toEqual({ table: id.table_name, type: 'bigint', identity: 'BY DEFAULT' });
    for (const [table, column] of [
      ['delivery', 'next_attempt_at'],
      ['delivery', 'leased_until'],
      ['nudge', 'due_at'],
      ['lease', 'until_ms'],
    ]) {
      expect(columns.find((c) => c.table_name === table && c.column_name === column)?.data_type, `${table}.${column}`).toBe('bigint');
    }
    // SQLite compares text byte by byte; a database created in another locale must sort the same.
    const notByteOrder = columns.filter((c) => c.data_type === 'text' && c.collation_name !== 'C').map((c) => `${c.table_name}.${c.column_name}`);
    expect(notByteOrder).toEqual([]);
  });

  it('has the same keys, foreign keys and number of CHECK constraints', async () => {
    expect(await postgresKeys()).toEqual(sqliteKeys());
  });

  it('has the same indexes: names, columns, uniqueness and the conditions of partial ones', async () => {
    expect(await postgresIndexes()).toEqual(sqliteIndexes());
  });

  it('names the account of every older vote, and links their e-mail, alike', async () => {
    const accounts = await accepted('SELECT actor_id, person, account FROM decision ORDER BY id');
    expect(accounts.map((row) => row.account)).toEqual([
      'slack:U0SLACK',
      'SLACK:U0LOUD',
      'gitlab:kpatel',
      'gitlab:kshout',
      'web:alice',
      'slack:sam',
      'gitlab:kiran.p',
      'gitlab:unknown',
      'slack:U0NULL',
    ]);
    await accepted('SELECT account, seen, first_seen FROM account_sighting ORDER BY account, seen');
    expect(await accepted('SELECT count(*) AS n FROM account_sighting')).toEqual([{ n: 2 }]);
  });

  it('counts the checks in each state, from those already there and through inserts, changes and deletes', async () => {
    const counts = async () => accepted('SELECT state, CAST(sum(n) AS INTEGER) AS n FROM check_count GROUP BY state ORDER BY state');
    const actual = async () => accepted(`SELECT state, count(*) AS n FROM status_check GROUP BY state ORDER BY state`);
    const positive = (rows: Row[]) => rows.filter((row) => Number(row.n) !== 0);

    // Seeded by migration 9 from the checks already there.
    expect(await counts()).toEqual([
      { state: 'approved', n: 2 },
      { state: 'pending', n: 1 },
      { state: 'rejected', n: 1 },
    ]);
    await insertCheck(5, 'pending');
    await insertCheck(6, 'pending');
    await insertCheck(7, 'stale');
    await accepted(`UPDATE status_check SET state = 'approved', updated_at = '2026-12-01T12:00:00.000Z' WHERE id = 5`);
    // The same state again, and a change of something else: neither moves a count.
    await accepted(`UPDATE status_check SET state = 'pending' WHERE id = 6`);
    await accepted(`UPDATE status_check SET slack_ts = '1733000000.000100' WHERE id = 6`);
    await accepted(`UPDATE status_check SET state = 'superseded' WHERE state = 'approved' AND id < 3`);
    // A refused change moves nothing either.
    await refused(`UPDATE status_check SET state = 'lost' WHERE id = 1`);
    await accepted(`DELETE FROM status_check WHERE id = 7`);
    // An upsert that changes the state counts as a change.
    await accepted(
      `INSERT INTO status_check (project_id, project_path, project_url, merge_request_iid, merge_request_title, merge_request_url,
         source_branch, target_branch, sha, external_status_check_id, external_status_check_name, merge_request_state, state,
         received_at, updated_at)
       VALUES (42, 'acme/api', 'u', 6, 't', 'u', 'feature', 'main', 'sha-6', 7, 'c', 'opened', 'pending', 'x', 'x')
       ON CONFLICT (project_id, merge_request_iid, external_status_check_id, sha) DO UPDATE SET state = 'closed'`,
    );

    const kept = await counts();
    expect(positive(kept)).toEqual(await actual());
    expect(positive(kept)).toEqual([
      { state: 'approved', n: 2 },
      { state: 'closed', n: 1 },
      { state: 'pending', n: 1 },
      { state: 'rejected', n: 1 },
      { state: 'superseded', n: 1 },
    ]);
  });

  it('keeps the audit trail append-only: a change or removal of an event is refused, and the event stays', async () => {
    await insertCheck(20, 'pending');
    await accepted(`INSERT INTO audit_event (at, check_id, event, actor, via, sha, detail) VALUES ('2026-12-01T10:00:00.000Z', 20, 'received', NULL, NULL, 'sha-20', '{}')`);
    const updated = await refused(`UPDATE audit_event SET detail = 'forged' WHERE check_id = 20`);
    const deleted = await refused('DELETE FROM audit_event WHERE check_id = 20');
    for (const message of [...Object.values(updated), ...Object.values(deleted)]) expect(message).toContain('audit_event is append-only');
    expect(await accepted('SELECT event, detail FROM audit_event WHERE check_id = 20')).toEqual([{ event: 'received', detail: '{}' }]);

    // PostgreSQL's TRUNCATE skips row triggers; it is refused too.
    await expect(pgc.query('TRUNCATE audit_event')).rejects.toThrow('audit_event is append-only');
    expect((await pgc.query('SELECT count(*) AS n FROM audit_event')).rows).toEqual([{ n: 1 }]);
  });

  it('refuses what SQLite refuses: unknown states and lanes, duplicates, votes on no check', async () => {
    await insertCheck(30, 'pending');
    await refused(`INSERT INTO decision (check_id, outcome, actor_id, actor_name, via, sha, decided_at) VALUES (30, 'maybe', 'a', 'A', 'slack', 's', 't')`);
    await refused(`INSERT INTO decision (check_id, outcome, actor_id, actor_name, via, sha, decided_at) VALUES (30, 'approve', 'a', 'A', 'email', 's', 't')`);
    await refused(`INSERT INTO decision (check_id, outcome, actor_id, actor_name, via, sha, decided_at) VALUES (999, 'approve', 'a', 'A', 'slack', 's', 't')`);
    await refused(`UPDATE status_check SET decided_via = 'email' WHERE id = 30`);
    await refused(`UPDATE status_check SET report_state = 'lost' WHERE id = 30`);
    await refused(`INSERT INTO delivery (check_id, lane, kind, payload, next_attempt_at, created_at) VALUES (30, 'email', 'k', '{}', 0, 't')`);
    await refused(`INSERT INTO delivery (check_id, lane, kind, payload, next_attempt_at, created_at, state) VALUES (30, 'slack', 'k', '{}', 0, 't', 'lost')`);
    await refused(`INSERT INTO delivery (check_id, lane, kind, payload, next_attempt_at, created_at) VALUES (999, 'slack', 'k', '{}', 0, 't')`);
    await refused(`INSERT INTO decision_request (check_id, outcome, actor, received_at) VALUES (30, 'maybe', 'a', 't')`);
    await refused(`INSERT INTO nudge (check_id, kind, due_at) VALUES (30, 'pester', 0)`);
    await accepted(`INSERT INTO nudge (check_id, kind, due_at) VALUES (30, 'remind', 0)`);
    await refused(`INSERT INTO nudge (check_id, kind, due_at) VALUES (30, 'remind', 1)`);
    await refused(`INSERT INTO nudge (check_id, kind, due_at) VALUES (999, 'escalate', 0)`);
    await refused(`INSERT INTO heartbeat (id, at) VALUES (2, 't')`);
    await refused(`INSERT INTO audit_event (at, check_id, event) VALUES ('t', 999, 'received')`);
    await refused(`INSERT INTO account_sighting (account, seen, first_seen) VALUES ('slack:sam', 'email:sam@example.com', 't')`);
    await insertCheck(31, 'pending', { sha: 'same' });
    await refused(
      `INSERT INTO status_check (project_id, project_path, project_url, merge_request_iid, merge_request_title, merge_request_url,
         source_branch, target_branch, sha, external_status_check_id, external_status_check_name, merge_request_state, state,
         received_at, updated_at)
       VALUES (42, 'acme/api', 'u', 31, 't', 'u', 'f', 'main', 'same', 7, 'c', 'opened', 'pending', 'x', 'x')`,
    );
    await refused(`INSERT INTO lease (name, holder, until_ms) VALUES ('reminders', NULL, 0)`);
    await accepted(`INSERT INTO lease (name, holder, until_ms) VALUES ('reminders', 'replica-a', 1733000000000)`);
    await refused(`INSERT INTO lease (name, holder, until_ms) VALUES ('reminders', 'replica-b', 1733000000000)`);
    await accepted(`INSERT INTO shared_key (name, value) VALUES ('csrf', 'k1')`);
    await refused(`INSERT INTO shared_key (name, value) VALUES ('csrf', 'k2')`);
    await refused(`INSERT INTO shared_key (name, value) VALUES (NULL, 'k2')`);
  });

  it('leases a delivery until a time in epoch milliseconds, beyond 32 bits', async () => {
    await insertCheck(40, 'pending');
    await accepted(`INSERT INTO delivery (check_id, lane, kind, payload, next_attempt_at, created_at) VALUES (40, 'slack', 'card', '{}', 1733000000000, 't')`);
    await accepted(`UPDATE delivery SET leased_until = 1733000030000, leased_by = 'replica-a' WHERE check_id = 40`);
    const rows = await accepted(`SELECT leased_until, leased_by, attempts, state FROM delivery WHERE check_id = 40`);
    expect(rows).toEqual([{ leased_until: 1733000030000, leased_by: 'replica-a', attempts: 0, state: 'pending' }]);
  });

  it('sorts and compares text as SQLite does, byte by byte', async () => {
    await insertCheck(50, 'pending', { project: 'acme/Zeta' });
    await insertCheck(51, 'pending', { project: 'acme/alpha' });
    await insertCheck(52, 'pending', { project: 'acme/_beta' });
    await insertCheck(53, 'pending', { project: 'acme/Émile' });
    await insertCheck(54, 'pending', { project: 'acme-b/a' });
    const sorted = await accepted('SELECT project_path FROM status_check WHERE id >= 50 ORDER BY project_path, id');
    expect(sorted.map((row) => row.project_path)).toEqual(['acme-b/a', 'acme/Zeta', 'acme/_beta', 'acme/alpha', 'acme/Émile']);
    expect(await accepted(`SELECT count(*) AS n FROM status_check WHERE id >= 50 AND project_path < 'acme/a'`)).toEqual([{ n: 3 }]);
  });

  // ---- what each database says about its schema, in one shape --------------------------------

  function sqliteTables(): string[] {
    return (lite.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
  }

  function sqliteColumns(): Record<string, string[]> {
    return Object.fromEntries(
      sqliteTables().map((table) => [
        table,
        (lite.pragma(`table_info(${table})`) as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[]).map((c) =>
          // SQLite lets NULL into a TEXT PRIMARY KEY of an ordinary table (a bug kept for compatibility); PostgreSQL never does.
          column(c.name, kindOfSqlite(c.type), c.notnull === 1 || c.pk > 0, c.dflt_value),
        ),
      ]),
    );
  }

  async function postgresColumns(): Promise<Record<string, string[]>> {
    const rows = (
      await pgc.query(
        `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default
           FROM information_schema.columns c
           JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
          ORDER BY c.table_name, c.ordinal_position`,
      )
    ).rows as { table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }[];
    const tables: Record<string, string[]> = {};
    for (const r of rows) {
      (tables[r.table_name] ??= []).push(column(r.column_name, kindOfPostgres(r.data_type), r.is_nullable === 'NO', r.column_default?.replace(/::text$/, '') ?? null));
    }
    return Object.fromEntries(Object.entries(tables).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  function sqliteKeys(): Record<string, string[]> {
    return Object.fromEntries(
      sqliteTables().map((table) => {
        const columns = lite.pragma(`table_info(${table})`) as { name: string; pk: number }[];
        const primary = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
        const keys = [`primary (${primary.map((c) => c.name).join(', ')})`];
        for (const index of lite.pragma(`index_list(${table})`) as { name: string; unique: number; origin: string }[]) {
          if (index.origin === 'u') keys.push(`unique (${indexColumns(index.name).join(', ')})`);
        }
        for (const fk of lite.pragma(`foreign_key_list(${table})`) as { from: string; table: string; to: string }[]) {
          keys.push(`foreign (${fk.from}) -> ${fk.table} (${fk.to})`);
        }
        const sql = (lite.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(table) as { sql: string }).sql;
        keys.push(`${(sql.match(/\bCHECK\s*\(/gi) ?? []).length} checks`);
        return [table, keys.sort()];
      }),
    );
  }

  async function postgresKeys(): Promise<Record<string, string[]>> {
    const rows = (
      await pgc.query(
        `SELECT cl.relname AS table_name, co.contype,
                (SELECT string_agg(a.attname, ', ' ORDER BY k.i) FROM unnest(co.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n) AS columns,
                fcl.relname AS foreign_table,
                (SELECT string_agg(a.attname, ', ' ORDER BY k.i) FROM unnest(co.confkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n) AS foreign_columns
           FROM pg_constraint co
           JOIN pg_class cl ON cl.oid = co.conrelid
           JOIN pg_namespace ns ON ns.oid = cl.relnamespace AND ns.nspname = 'public'
           LEFT JOIN pg_class fcl ON fcl.oid = co.confrelid
          WHERE co.contype IN ('p', 'u', 'f', 'c')`,
      )
    ).rows as { table_name: string; contype: string; columns: string; foreign_table: string | null; foreign_columns: string | null }[];
    const tables: Record<string, string[]> = Object.fromEntries((await postgresTables()).map((t) => [t, []]));
    const checks: Record<string, number> = {};
    for (const r of rows) {
      const keys = (tables[r.table_name] ??= []);
      if (r.contype === 'p') keys.push(`primary (${r.columns})`);
      if (r.contype === 'u') keys.push(`unique (${r.columns})`);
      if (r.contype === 'f') keys.push(`foreign (${r.columns}) -> ${r.foreign_table} (${r.foreign_columns})`);
      if (r.contype === 'c') checks[r.table_name] = (checks[r.table_name] ?? 0) + 1;
    }
    for (const [table, keys] of Object.entries(tables)) {
      keys.push(`${checks[table] ?? 0} checks`);
      keys.sort();
    }
    return tables;
  }

  function sqliteIndexes(): Record<string, string> {
    const rows = lite.prepare(`SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).all() as {
      name: string;
      tbl_name: string;
      sql: string;
    }[];
    return Object.fromEntries(
      rows.map((r) => {
        const where = /\bWHERE\b([\s\S]*)$/i.exec(r.sql)?.[1];
        return [r.name, index(r.tbl_name, indexColumns(r.name), /^\s*CREATE\s+UNIQUE/i.test(r.sql), where ?? null)];
      }),
    );
  }

  async function postgresIndexes(): Promise<Record<string, string>> {
    // Indexes that back a PRIMARY KEY or UNIQUE constraint are compared as keys, like SQLite's autoindexes.
    const rows = (
      await pgc.query(
        `SELECT i.relname AS name, t.relname AS table_name, x.indisunique AS is_unique, pg_get_expr(x.indpred, x.indrelid) AS predicate,
                (SELECT string_agg(coalesce(a.attname, '<expression>'), ', ' ORDER BY k.i) FROM unnest(x.indkey) WITH ORDINALITY k(n, i)
                   LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n) AS columns
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public'
          WHERE NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = x.indexrelid)
          ORDER BY i.relname`,
      )
    ).rows as { name: string; table_name: string; is_unique: boolean; predicate: string | null; columns: string }[];
    return Object.fromEntries(rows.map((r) => [r.name, index(r.table_name, r.columns.split(', '), r.is_unique, r.predicate)]));
  }

  async function postgresTables(): Promise<string[]> {
    const rows = (await pgc.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`))
      .rows as { table_name: string }[];
    return rows.map((r) => r.table_name);
  }

  function indexColumns(name: string): string[] {
    // An expression (lower(...)) has no column name on either side.
    return (lite.pragma(`index_info(${name})`) as { seqno: number; name: string | null }[]).sort((a, b) => a.seqno - b.seqno).map((c) => c.name ?? '<expression>');
  }
});

type Row = Record<string, unknown>;
type Outcome = { ok: true; rows: Row[] } | { ok: false; error: string };

function column(name: string, kind: string, notNull: boolean, defaultValue: string | null): string {
  return `${name} ${kind}${notNull ? ' NOT NULL' : ''}${defaultValue === null ? '' : ` DEFAULT ${defaultValue}`}`;
}

/** SQLite's INTEGER holds 64 bits: PostgreSQL's INTEGER or BIGINT. */
function kindOfSqlite(type: string): string {
  if (type === 'INTEGER') return 'integer';
  if (type === 'TEXT') return 'text';
  throw new Error(`a column of type ${type}: the parity test knows INTEGER and TEXT`);
}

function kindOfPostgres(type: string): string {
  if (type === 'integer' || type === 'bigint') return 'integer';
  if (type === 'text') return 'text';
  throw new Error(`a column of type ${type}: the schema keeps SQLite's INTEGER and TEXT`);
}

/** Where a partial index's condition is written differently (parentheses, casts, case), it still means the same. */
function index(table: string, columns: string[], unique: boolean, where: string | null): string {
  const condition = where
    ?.replace(/::text/g, '')
    .replace(/[()]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  return `${unique ? 'unique ' : ''}on ${table} (${columns.join(', ')})${condition ? ` where ${condition}` : ''}`;
}
