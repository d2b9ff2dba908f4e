import type { Kysely } from 'kysely';
import type { Tables } from './schema.js';

/**
 * What differs between the databases the store runs on: how they are opened and migrated,
 * which of their errors mean "not now", and how they lock. The queries themselves are one
 * copy, in store.ts, built with Kysely for either dialect.
 */
export interface Engine {
  readonly dialect: 'sqlite' | 'postgres';
  readonly db: Kysely<Tables>;
  /** Several processes may share this database (leases and row locks matter). */
  readonly shared: boolean;
  /** The statement that opens a write transaction. */
  readonly begin: string;
  /** Why the database cannot take this write now (StoreUnavailable), or null when the error is a bug. */
  unavailable(error: unknown): string | null;
  /** A conflict with another transaction that running the whole transaction again resolves. */
  conflict(error: unknown): boolean;
  /** A reason to refuse every write before trying (the SQLite file was deleted or replaced), or null. */
  refusal(): string | null;
  /** Writes failed: wait less for locks from now on (SQLite waits synchronously). */
  failing(): void;
  /** Writes work again. */
  recovered(): void;
  /** Whether the database takes writes, without writing: the problem, or null. */
  probe(): Promise<string | null>;
  /** Holds `key` until the current transaction ends (`db` is the transaction's connection). */
  lock(db: Kysely<Tables>, key: string): Promise<void>;
  close(): Promise<void>;
}

/** Options both engines take. */
export interface EngineOptions {
  /** Sees each statement as it runs (for query plans and debugging). */
  trace?: (sql: string, parameters: readonly unknown[]) => void;
}

/** A migration: the same change, written for each dialect (DDL is where they differ). */
export interface Migration {
  sqlite: string;
  postgres: string;
}

/** A DATABASE_URL that names PostgreSQL (`postgres://` or `postgresql://`); anything else is a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

export function newerSchema(applied: number, known: number): Error {
  return new Error(
    `The database was written by a newer version (schema ${applied}, this build knows ${known}): run that version or restore a backup.`,
  );
}
