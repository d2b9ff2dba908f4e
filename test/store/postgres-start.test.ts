import pg from 'pg';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/store/engine.js';
import { openPostgres } from '../../src/store/postgres.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';

describe.runIf(postgresReady)('opening PostgreSQL', () => {
  let url: string;
  let engine: Engine | null;
  let admin: pg.Client;
  beforeEach(async () => {
    url = await freshPostgres();
    engine = null;
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterEach(async () => {
    await admin.end();
    await engine?.close();
    await dropPostgres(url);
  });

  /** The bot's sessions as the server lists them, with the last statement each ran. */
  const botSessions = async () =>
    (await admin.query<{ pid: number; query: string }>(`SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'gitlab-approval-bot'`)).rows;

  it('keeps the connection that migrated for the first statements, with the settings of a new one', async () => {
    engine = await openPostgres(url);
    // One session, idle in the pool: the one that migrated, its settings reset last.
    const [migrating, ...others] = await botSessions();
    expect(others).toEqual([]);
    expect(migrating?.query).toBe('RESET ALL');
    // The first statement runs on it, with the statement timeout every connection has.
    const { rows } = await sql<{ pid: number; timeout: string }>`SELECT pg_backend_pid() AS pid, current_setting('statement_timeout') AS timeout`.execute(engine.db);
    expect(rows[0]).toEqual({ pid: migrating!.pid, timeout: '15s' });
  });
});
