import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { APPROVER, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { postgresReady } from '../support/postgres.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

/** /readyz's answer once it is `status` (it is cached for up to a second). */
const readyzBecomes = (h: Harness, status: number) =>
  eventually(
    `/readyz ${status}`,
    async () => {
      const res = await fetch(`${h.bot.url}/readyz`);
      const body = (await res.json()) as { status: string; error?: string };
      return res.status === status ? body : undefined;
    },
    WAIT_MS,
  );

/** Lanes that paused while the database was away wait up to 10 s before they look again. */
const WAIT_MS = 30_000;

// A server of its own: this test stops it under a running bot.
describe.runIf(postgresReady)('PostgreSQL going away under a running bot', () => {
  let server: PostgresServer;
  let h: Harness;
  beforeAll(async () => {
    const started = await startPostgres();
    if ('missing' in started) throw new Error(started.missing);
    server = started;
    h = await startHarness({ DATABASE_URL: server.adminUrl });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await server?.stop();
  });

  it('answers 503 with a message while the server is down, keeps running, and takes the same calls once it is back', async () => {
    const before = await h.receive(statusCheck({ iid: 601 }));
    expect(before.status).toBe(202);
    const id = before.body.id as number;
    await h.slack.waitFor('chat.postMessage');

    await server.halt();
    const down = await readyzBecomes(h, 503);
    expect(down.error).toMatch(/PostgreSQL is not available/);
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);

    const refused = await h.receive(statusCheck({ iid: 602 }));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/^The check could not be stored\. .*PostgreSQL is not available.* Nothing was saved; press Retry on the check in GitLab once the bot is ready\.$/);
    const click = await h.click(APPROVER, 'approve_check', id);
    expect(click.status).toBe(503);
    expect(((await click.json()) as { error: string }).error).toMatch(/Nothing was recorded; try again in a minute\.$/);

    await server.resume();
    await readyzBecomes(h, 200);
    expect((await h.receive(statusCheck({ iid: 602 }))).status).toBe(202);
    await h.slack.waitFor('chat.postMessage', 2, undefined, WAIT_MS);
    expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);
    await h.gitlab.waitForResponses(1, WAIT_MS);
    await eventually('the report written down', async () => ((await h.bot.store.getCheck(id))?.report === 'reported' ? true : undefined), WAIT_MS);
    expect(h.gitlab.responses).toHaveLength(1);
  }, 120_000);
});
