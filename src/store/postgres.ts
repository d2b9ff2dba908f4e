import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { newerSchema, type Engine, type EngineOptions } from './engine.js';
import { migrations } from './migrations.js';
import type { Tables } from './schema.js';

/** int8 (counts, ids, epoch milliseconds) and numeric (sums) as numbers: every value the bot keeps fits. */
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * SQLSTATE classes that say "not now": the connection (08), too many connections or a full
 * disk (53), the server shutting down or starting (57P), a standby that takes no writes
 * (25006), a transaction the server ended for idling (25P03), a lock or statement that waited
 * too long (55P03, 57014), and conflicts with other transactions still there after retries
 * (40001, 40P01).
 */
const UNAVAILABLE_STATE = /^(08|53|57P|25006|25P03|55P03|57014|40001|40P01)/;
/** The network said no: the server is down or unreachable. */
const UNAVAILABLE_ERRNO = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|EHOSTUNREACH|ENETUNREACH)$/;
/** Serialization failure and deadlock: running the transaction again resolves them. */
const CONFLICT = /^(40001|40P01)$/;

/** One lock number for "migrating": every replica asks for it before touching the schema. */
const MIGRATION_LOCK = 7_413_220_901;

/**
 * PostgreSQL, for several replicas sharing one database. A pool of connections; each write
 * transaction takes its own. Migrations run under an advisory lock, so replicas starting
 * together migrate once.
 */
export async function openPostgres(url: string, options: EngineOptions = {}): Promise<Engine> {
  const pool = new pg.Pool({
    connectionString: url,
    types,
    // Calls about one merge request wait for each other holding a connection: room for a burst.
    max: 20,
    // A database that does not answer makes requests fail fast (503), not hang.
    connectionTimeoutMillis: 5000,
    statement_timeout: 15_000,
    // A replica stalled inside a transaction lets go of its locks.
    idle_in_transaction_session_timeout: 30_000,
    application_name: 'gitlab-approval-bot',
  });
  // An idle connection the server dropped: the pool replaces it; the next query says what happened.
  pool.on('error', () => undefined);
  // A connection the server cuts while the bot holds it between two statements (a restart, a
  // failover, pg_terminate_backend) says so in an 'error' event, which would end the process
  // unheard. Its next statement fails instead (503), and the pool replaces it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = new Kysely<Tables>({
    dialect: new PostgresDialect({ pool }),
    log: options.trace
      ? (event) => {
          if (event.level === 'query') options.trace?.(event.query.sql, event.query.parameters);
        }
      : undefined,
  });
  return {
    dialect: 'postgres',
    db,
    shared: true,
    begin: 'BEGIN',
    // The problem is said without the server's own words: they name hosts, addresses and
    // users, and readiness answers anyone who asks.
    unavailable(error) {
      const code = (error as { code?: unknown }).code;
      const message = (error as Error).message ?? String(error);
      if (typeof code === 'string' && (UNAVAILABLE_STATE.test(code) || UNAVAILABLE_ERRNO.test(code))) return `PostgreSQL is not available (${code})`;
      if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(message)) {
        return 'PostgreSQL is not available (the connection failed or was cut)';
      }
      return null;
    },
    conflict(error) {
      const code = (error as { code?: unknown }).code;
      return typeof code === 'string' && CONFLICT.test(code);
    },
    refusal: () => null,
    failing: () => undefined,
    recovered: () => undefined,
    async probe() {
      const { rows } = await sql<{ readOnly: string }>`SELECT current_setting('transaction_read_only') AS "readOnly"`.execute(db);
      return rows[0]?.readOnly === 'on' ? 'PostgreSQL takes no writes here (a read-only standby or transaction_read_only): point DATABASE_URL at the primary' : null;
    },
    async lock(conn, key) {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(conn);
    },
    close: () => db.destroy(),
  };
}

/**
 * Applies the migrations this database has not seen, each in its own transaction, under an
 * advisory lock held for the whole run: a second replica waits, then finds nothing to do.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Migrating waits as long as it takes: for another replica's migration, or to build an index on a big table.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
      const applied = rows[0]?.v ?? 0;
      if (applied > migrations.length) throw newerSchema(applied, migrations.length);
      for (let version = applied; version < migrations.length; version += 1) {
        const migration = migrations[version]!;
        await client.query('BEGIN');
        try {
          await client.query(migration.postgres);
          await client.query('INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)', [version + 1, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`Migration ${version + 1} failed on PostgreSQL: ${(error as Error).message}`, { cause: error });
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } catch (error) {
    client.release(true);
    throw error;
  }
  // Back to the pool with the settings a new connection has (RESET ALL: the lifted statement
  // timeout, and whatever a migration SET), so the first statements after the start need no
  // connection of their own. Should that fail, the migrations stand and a new one replaces it.
  try {
    await client.query('RESET ALL');
    client.release();
  } catch {
    client.release(true);
  }
}
