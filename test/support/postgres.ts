import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { SCHEMA_TEMPLATE } from './postgres-server.js';

/**
 * The run's PostgreSQL server (started by test/support/postgres-server.ts), for test files:
 *
 *   describe.runIf(postgresReady)('the store on PostgreSQL', () => {
 *     it('...', async () => { const url = await freshPostgres(); ... });
 *   });
 */

/** postgres:// URL of the server as its superuser, or null when none runs (not installed). */
export const postgresAdminUrl: string | null = inject('postgresAdminUrl');

/** Whether a PostgreSQL server runs for these tests; without one they are skipped. */
export const postgresReady: boolean = postgresAdminUrl !== null;

/** A new database with a name of its own, empty or with the bot's tables; returns its postgres:// URL. Removed with the server at the end of the run. */
export async function freshPostgres(options: { schema?: boolean } = {}): Promise<string> {
  if (postgresAdminUrl === null) {
    throw new Error('No PostgreSQL server runs for these tests: guard them with describe.runIf(postgresReady).');
  }
  const name = `test_${randomBytes(8).toString('hex')}`;
  // `schema`: a copy of the database the run migrated once (the bot finds nothing to migrate):
  // much quicker than migrating again for every bot a story starts.
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}${options.schema ? ` TEMPLATE ${SCHEMA_TEMPLATE}` : ''}`));
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database freshPostgres made, closing whatever connections it still has. */
export async function dropPostgres(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  if (!/^test_[0-9a-f]{16}$/.test(name)) throw new Error(`${databaseUrl} was not made by freshPostgres: refusing to drop it.`);
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: postgresAdminUrl as string });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
