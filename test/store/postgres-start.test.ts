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

  const botConnections = async () =>
    Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'gitlab-approval-bot'`)).rows[0].n);

  it('keeps the connection that migrated for the first statements, with the settings of a new one', async () => {
    engine = await openPostgres(url);
    expect(await botConnections()).toBe(1);
    // Migrating lifts the statement timeout; the pool gets the connection back with its own.
    const { rows } = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(engine.db);
    expect(rows[0]?.statement_timeout).toBe('15s');
    expect(await botConnections()).toBe(1);
  });

  it('does not keep it when a migration failed', async () => {
    // A table in the way of the first migration.
    await admin.query('CREATE TABLE status_check (id text)');
    await expect(openPostgres(url)).rejects.toThrow(/Migration 1 failed on PostgreSQL/);
    expect(await botConnections()).toBe(0);
  });
});
