import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Harness } from './harness.js';
import { freshPostgres } from './postgres.js';

/**
 * The story and store tests run twice: on SQLite, and on PostgreSQL in the `postgres` project of
 * vitest.config.ts, which sets TEST_DATABASE.
 */
export const onPostgres = process.env.TEST_DATABASE === 'postgres';

/** Where a test's store lives: a SQLite file in `dir`, or a fresh PostgreSQL database. */
export async function testDatabase(dir: string): Promise<string> {
  return onPostgres ? freshPostgres({ schema: true }) : path.join(dir, 'approvals.db');
}

/** How many checks the database holds, read by a connection of its own (not the bot's). */
export async function rowsOnDisk(h: Harness): Promise<number> {
  if (h.env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM status_check')).rows[0]?.n);
    } finally {
      await client.end();
    }
  }
  const db = new Database(h.env.DATABASE_PATH as string, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM status_check').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
