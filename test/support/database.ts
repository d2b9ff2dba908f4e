import Database from 'better-sqlite3';
import type { Harness } from './harness.js';

/** How many checks the database file holds, read by a connection of its own (not the bot's). */
export function rowsOnDisk(h: Harness): number {
  const db = new Database(h.env.DATABASE_PATH as string, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM status_check').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
