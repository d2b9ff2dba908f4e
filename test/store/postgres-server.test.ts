import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgres, postgresAdminUrl, postgresReady } from '../support/postgres.js';

describe.runIf(postgresReady)("the tests' own PostgreSQL server", () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresAdminUrl as string });
    await admin.connect();
  });
  afterAll(() => admin?.end());

  const setting = async (name: string) => ((await admin.query(`SELECT current_setting($1) AS value`, [name])).rows[0] as { value: string }).value;

  it('runs as an account other than root', async () => {
    const dataDirectory = await setting('data_directory');
    expect(fs.statSync(dataDirectory).uid).not.toBe(0);
  });

  it('listens on 127.0.0.1 only, and lets in no one else', async () => {
    expect(await setting('listen_addresses')).toBe('127.0.0.1');
    const rules = (await admin.query('SELECT type, address FROM pg_hba_file_rules ORDER BY line_number')).rows;
    expect(rules).toEqual([
      { type: 'local', address: null },
      { type: 'host', address: '127.0.0.1' },
    ]);
  });

  it('keeps its socket in its own directory, not in the shared /var/run/postgresql', async () => {
    expect(await setting('unix_socket_directories')).toMatch(/approval-bot-pg-/);
  });

  it('gives each caller a new, empty database of its own', async () => {
    const [first, second] = await Promise.all([freshPostgres(), freshPostgres()]);
    expect(first).not.toBe(second);
    const client = new pg.Client({ connectionString: first });
    await client.connect();
    try {
      const tables = await client.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(tables.rows[0]).toEqual({ n: 0 });
    } finally {
      await client.end();
    }
  });
});
