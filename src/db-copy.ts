import { parseArgs } from 'node:util';
import { copySqliteToPostgres } from './store/copy.js';
import { isPostgresUrl } from './store/engine.js';

/**
 * `npm run db:copy -- --from <SQLite file> --to <postgres:// URL>`: moves an existing database
 * into PostgreSQL before running several replicas. Stop the bot first: a copy of a file still
 * being written misses what comes after.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } } });
  const to = values.to ?? process.env.DATABASE_URL;
  if (!values.from || !to || !isPostgresUrl(to)) {
    process.stderr.write('Usage: npm run db:copy -- --from /data/approvals.db --to postgres://user:password@host:5432/approvals\n(--to defaults to DATABASE_URL)\n');
    process.exit(64); // EX_USAGE
  }
  const started = Date.now();
  const reports = await copySqliteToPostgres(values.from, to, ({ table, rows, replaced }) => {
    const note = replaced === 0 ? '' : ` (${replaced} ${replaced === 1 ? 'text' : 'texts'} held a NUL character or a broken surrogate, which PostgreSQL cannot store: copied with U+FFFD in its place)`;
    process.stdout.write(`${table}: ${rows} rows${note}\n`);
  });
  const total = reports.reduce((sum, r) => sum + r.rows, 0);
  process.stdout.write(`Copied ${total} rows from ${values.from} in ${((Date.now() - started) / 1000).toFixed(1)} s. Start the bot with DATABASE_URL set.\n`);
}

main().catch((error: unknown) => {
  // The URL holds a password: say what failed, never where to.
  process.stderr.write(`The copy failed, and PostgreSQL was left as it was: ${(error as Error).message}\n`);
  process.exit(1);
});
