import fs from 'node:fs';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Engine } from './engine.js';
import { openPostgres } from './postgres.js';
import type { Tables } from './schema.js';
import { openSqlite } from './sqlite.js';
import { storable } from '../well-formed.js';

/**
 * The tables a copy carries, parents before children (foreign keys), each read in the order of
 * its key. Left out: `check_count` (counted again from the copied checks at the end),
 * `heartbeat` and `lease` (moments of a running bot, not data).
 */
const TABLES = [
  { name: 'status_check', key: ['id'] },
  { name: 'decision', key: ['id'] },
  { name: 'delivery', key: ['id'] },
  { name: 'audit_event', key: ['id'] },
  { name: 'decision_request', key: ['id'] },
  { name: 'nudge', key: ['id'] },
  { name: 'home_tab', key: ['user_id'] },
  { name: 'account_sighting', key: ['account', 'seen'] },
  { name: 'shared_key', key: ['name'] },
] as const satisfies ReadonlyArray<{ name: keyof Tables; key: readonly string[] }>;

/** Tables keyed by an id PostgreSQL generates: their sequences move past the copied ids. */
const IDENTITY = TABLES.filter((table) => table.key.length === 1 && table.key[0] === 'id').map((table) => table.name);

/** PostgreSQL's limit on the parameters of one statement: each batch is as large as fits under it. */
const MAX_PARAMETERS = 65_535;
/** Rows per batch at most, however narrow the table: bounds the memory one batch holds. */
const MAX_BATCH = 5_000;

export interface CopyReport {
  table: string;
  rows: number;
  /** Texts that held a NUL character or a lone surrogate, copied with U+FFFD in its place. */
  replaced: number;
}

/**
 * Copies every table of a SQLite file into an empty PostgreSQL database, in one transaction:
 * the target gets all of it or nothing. Both are brought to this build's schema first. Refuses
 * a target that already holds data (but a replica's own CSRF key), so a second run cannot mix two histories.
 */
export async function copySqliteToPostgres(file: string, url: string, progress: (report: CopyReport) => void = () => undefined): Promise<CopyReport[]> {
  // Opening a missing file would create an empty database and copy nothing, as if all went well.
  if (!fs.existsSync(file)) throw new Error(`The SQLite file ${file} does not exist: give the path of the bot's database (its DATABASE_PATH).`);
  const source = openSqlite(file);
  let target: Engine | null = null;
  try {
    target = await openPostgres(url);
    // Every copied table but shared_key (a replica started on the target made its own key: the file's wins).
    for (const table of TABLES.filter((t) => t.name !== 'shared_key')) {
      const held = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table.name)}`.execute(target.db);
      if (Number(held.rows[0]?.n ?? 0) > 0) {
        throw new Error(`The PostgreSQL database is not empty (${table.name} holds rows): copy into an empty database (create a new one, or drop and recreate this one).`);
      }
    }
    const reports: CopyReport[] = [];
    await target.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('shared_key').execute();
      // Counted once at the end instead of row by row: a million updates of the same few count
      // rows in one transaction each walk the versions before them, and the copy slows to a crawl.
      // Transactional: a failed copy leaves the trigger as it was. The lock it takes keeps a bot
      // from adding checks until the copy commits.
      await sql`ALTER TABLE status_check DISABLE TRIGGER check_count_insert`.execute(trx);
      for (const table of TABLES) {
        const report = { table: table.name, ...(await copyTable(source.db, trx, table.name, table.key)) };
        reports.push(report);
        progress(report);
      }
      await sql`ALTER TABLE status_check ENABLE TRIGGER check_count_insert`.execute(trx);
      await sql`DELETE FROM check_count`.execute(trx);
      // In one shard per state: a state's count is the sum of its shards, whichever they are.
      await sql`INSERT INTO check_count (state, shard, n) SELECT state, 0, count(*) FROM status_check GROUP BY state`.execute(trx);
      for (const table of IDENTITY) {
        await sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), coalesce((SELECT max(id) FROM ${sql.table(table)}), 0) + 1, false)`.execute(trx);
      }
    });
    return reports;
  } finally {
    await target?.close();
    await source.close();
  }
}

/** Copies one table in batches, reading from where the last batch ended (keyset, no OFFSET). */
async function copyTable(from: Kysely<Tables>, to: Kysely<Tables>, table: keyof Tables, key: readonly string[]): Promise<{ rows: number; replaced: number }> {
  // Loosely typed on purpose: the same loop for every table; the rows go over as they are.
  const source = from as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const target = to as unknown as Kysely<Record<string, Record<string, unknown>>>;
  // One INSERT per batch: as many rows as fit within PostgreSQL's parameter limit (a row takes one a column).
  const columns = await sql<{ n: number }>`SELECT count(*) AS n FROM pragma_table_info(${table})`.execute(source);
  const batch = Math.max(1, Math.min(MAX_BATCH, Math.floor(MAX_PARAMETERS / Number(columns.rows[0]?.n ?? 1))));
  let copied = 0;
  let replaced = 0;
  let last: Record<string, unknown> | null = null;
  for (;;) {
    let query = source.selectFrom(table).selectAll();
    if (last) {
      const after = last;
      query = query.where(sql<boolean>`(${sql.join(key.map((k) => sql.ref(k)))}) > (${sql.join(key.map((k) => after[k]))})`);
    }
    for (const k of key) query = query.orderBy(k);
    const rows = await query.limit(batch).execute();
    if (rows.length === 0) return { rows: copied, replaced };
    const cleaned = rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [column, value] of Object.entries(row)) {
        // SQLite keeps a NUL character (or a lone surrogate) in text; PostgreSQL refuses the
        // whole row. U+FFFD, as the bot does at its edge (storable).
        const kept = typeof value === 'string' ? storable(value) : value;
        if (kept !== value) replaced += 1;
        out[column] = kept;
      }
      return out;
    });
    await target.insertInto(table).values(cleaned).execute();
    copied += rows.length;
    // The key as read: a replaced character does not move where the next batch starts.
    last = rows.at(-1) ?? null;
  }
}
