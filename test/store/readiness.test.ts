import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, statusCheck, type Harness } from '../support/harness.js';

describe('readiness when the database cannot be written', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('fails /readyz and answers the webhook 503 with nothing saved, then recovers', async () => {
    expect((await fetch(`${h.bot.url}/readyz`)).status).toBe(200);

    // Another process holds the write lock: every write of the bot fails after its busy timeout.
    const other = new Database(h.env.DATABASE_PATH!);
    other.exec('BEGIN IMMEDIATE');
    try {
      const ready = await fetch(`${h.bot.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: string }).error).toMatch(/^The database cannot be written: /);
      expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200); // alive, just not ready

      const refused = await h.receive(statusCheck({ iid: 501 }));
      expect(refused.status).toBe(503);
      expect(refused.body.error).toContain('press Retry on the check in GitLab');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(h.bot.store.checksOf(42, 501, 7)).toEqual([]);
    expect(h.slack.calls('chat.postMessage')).toEqual([]);

    // GitLab's Retry, once the database takes writes again.
    expect((await fetch(`${h.bot.url}/readyz`)).status).toBe(200);
    expect((await h.receive(statusCheck({ iid: 501 }))).status).toBe(202);
    await h.slack.waitFor('chat.postMessage');
  });
});
