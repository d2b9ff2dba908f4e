import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { newerSchema, type Engine, type EngineOptions } from './engine.js';
import { migrations } from './migrations.js';
import type { Tables } from './schema.js';

/** SQLite's answers that say "not now" rather than "this write is wrong". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL|NOTADB|CORRUPT)/;

/**
 * How long a write waits for another connection's lock. Short because better-sqlite3 waits
 * synchronously, holding the event loop (and /healthz) for that long; a write that does not
 * get the lock in time is refused and retried later instead.
 */
const BUSY_TIMEOUT_MS = 200;

/**
 * The embedded default: one file, one process. Kysely runs its queries on one better-sqlite3
 * connection, one at a time; each SQL text is compiled once (Kysely asks for a statement on
 * every query, and compiling cost more than running most of them).
 */
export function openSqlite(file: string, options: EngineOptions = {}): Engine {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const raw = new Database(file, options.trace ? { verbose: (text) => options.trace?.(String(text), []) } : {});
  raw.pragma('journal_mode = WAL');
  // FULL: a decision acknowledged to a person survives a power cut, not only a crash.
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  migrate(raw);

  const resolved = file === ':memory:' ? null : path.resolve(file);
  const stat = resolved ? fs.statSync(resolved) : null;
  /** Device and inode of the file at start: a different pair means it was deleted or replaced. */
  const identity = stat ? { dev: stat.dev, ino: stat.ino } : null;

  const statements = new Map<string, Database.Statement>();
  const database: SqliteDatabase = {
    close: () => {
      if (!raw.open) return;
      raw.pragma('wal_checkpoint(TRUNCATE)');
      raw.close();
    },
    prepare: (text: string): SqliteStatement => {
      let statement = statements.get(text);
      if (!statement) {
        statement = raw.prepare(text);
        statements.set(text, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });

  return {
    dialect: 'sqlite',
    db,
    shared: false,
    begin: 'BEGIN IMMEDIATE',
    unavailable(error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !UNAVAILABLE.test(code)) return null;
      return /^SQLITE_(BUSY|LOCKED)/.test(code) ? `another process holds the database's write lock (${(error as Error).message})` : (error as Error).message;
    },
    conflict: () => false,
    refusal() {
      if (!resolved || !identity) return null;
      let now: fs.Stats;
      try {
        now = fs.statSync(resolved);
      } catch {
        return `the database file ${resolved} was deleted while the bot ran: writes would go to a file nobody can open again. Restore the file from a backup and restart the bot`;
      }
      if (now.dev !== identity.dev || now.ino !== identity.ino) {
        return `the database file ${resolved} was replaced while the bot ran: the bot still writes to the old one. Restart the bot to open the new file`;
      }
      return null;
    },
    // While writes fail, one quick try each instead of waiting out the timeout every time:
    // a lock held for long is not released faster by waiting on the event loop.
    failing: () => raw.pragma('busy_timeout = 0'),
    recovered: () => raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`),
    async probe() {
      // The write lock can be taken (and is let go at once): nothing is written.
      await db.connection().execute(async (conn) => {
        await sql`BEGIN IMMEDIATE`.execute(conn);
        await sql`ROLLBACK`.execute(conn);
      });
      return null;
    },
    // One connection, and BEGIN IMMEDIATE: transactions already run one at a time.
    lock: () => Promise.resolve(),
    close: () => db.destroy(),
  };
}

/** Applies the migrations this file has not seen; `PRAGMA user_version` counts them. */
function migrate(raw: Database.Database): void {
  const applied = raw.pragma('user_version', { simple: true }) as number;
  if (applied > migrations.length) throw newerSchema(applied, migrations.length);
  for (let version = applied; version < migrations.length; version += 1) {
    const migration = migrations[version]!;
    raw.transaction(() => {
      raw.exec(migration.sqlite);
      raw.pragma(`user_version = ${version + 1}`);
    })();
  }
}
