import { defineConfig } from 'vitest/config';
import { findBinaries } from './test/support/postgres-server.js';

/**
 * The stories that run a second time on PostgreSQL (the `postgres` project): a check's whole
 * life through the running bot, and the store's own tests. Left out: what is about SQLite's
 * file (locks, a deleted file, a full disk) and what never touches the database.
 */
const ON_POSTGRES = [
  'test/slack/approve.test.ts',
  'test/slack/pending.test.ts',
  'test/slack/home.test.ts',
  'test/slack/author-notice.test.ts',
  'test/policy/quorum.test.ts',
  'test/policy/four-eyes.test.ts',
  'test/reminders/reminders.test.ts',
  'test/freeze/freeze.test.ts',
  'test/gitlab/webhook.test.ts',
  'test/gitlab/report-refused.test.ts',
  'test/web/web-list.test.ts',
  'test/web/list-views.test.ts',
  'test/reconcile/sweep.test.ts',
  'test/delivery/lifecycle.test.ts',
  'test/delivery/worker.test.ts',
  'test/store/list-pages.test.ts',
  'test/store/queued-notice.test.ts',
  'test/store/insert-check.test.ts',
  'test/store/restart.test.ts',
  'test/delivery/outbox.test.ts',
  'test/security/well-formed.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start real servers and child processes; two workers fit a 2-core machine.
    maxWorkers: 2,
    // One throwaway PostgreSQL server for the run, when it is installed (test/support/postgres.ts).
    globalSetup: ['test/support/postgres-server.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      // Without PostgreSQL installed these are left out (the server's setup says so), unless CI requires them.
      ...('bin' in findBinaries() || process.env.REQUIRE_POSTGRES === '1'
        ? [{ extends: true as const, test: { name: 'postgres', include: ON_POSTGRES, env: { TEST_DATABASE: 'postgres' } } }]
        : []),
    ],
  },
});
