import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailable } from '../../src/ports.js';
import { openStore, type Store } from '../../src/store/store.js';
import { eventually } from '../support/eventually.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';

describe.runIf(postgresReady)('a connection PostgreSQL cuts while the bot holds it', () => {
  let url: string;
  let store: Store;
  let admin: pg.Client;
  beforeEach(async () => {
    url = await freshPostgres({ schema: true });
    store = await openStore(url);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterEach(async () => {
    await admin.end();
    await store.close();
    await dropPostgres(url);
  });

  it('fails the transaction that holds it, not the process', async () => {
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const work = store.transaction(async () => {
      await store.getCheck(1);
      entered();
      // Between two statements the connection is checked out and idle: the server cuts it now.
      await paused;
      await store.getCheck(1);
    });
    await inside;
    const own = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'`;
    const [{ pid }] = (await admin.query<{ pid: number }>(own)).rows as [{ pid: number }];
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    // The server has said so on that connection: gone from its list of backends.
    await eventually('the backend gone', async () => ((await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0 ? true : undefined));
    // Its word on the socket reaches the bot's connection before the next statement is sent.
    await new Promise((resolve) => setImmediate(resolve));
    resume();
    await expect(work).rejects.toBeInstanceOf(StoreUnavailable);
    // The pool replaces the connection: the next statement works.
    expect(await store.getCheck(1)).toBeNull();
  });
});
