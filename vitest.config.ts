import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start real servers and child processes; two workers fit a 2-core machine.
    maxWorkers: 2,
    // One throwaway PostgreSQL server for the run, when it is installed (test/support/postgres.ts).
    globalSetup: ['test/support/postgres-server.ts'],
  },
});
