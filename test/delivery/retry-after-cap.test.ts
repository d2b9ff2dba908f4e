import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS } from '../../src/delivery/worker.js';
import { eventually } from '../support/eventually.js';
import { startHarness, tempDir, type Harness } from '../support/harness.js';

const aDay = { status: 429, headers: { 'Retry-After': '86400' }, body: { ok: false, error: 'ratelimited' } };

describe('a rate limit that asks for too long a wait', () => {
  let h: Harness;
  let logDir: string;
  afterEach(async () => {
    await h.stop();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('Slack asks to wait a day: the card waits 15 minutes at most, across a restart too, and the log says so', async () => {
    logDir = tempDir();
    const logFile = path.join(logDir, 'bot.log');
    h = await startHarness({}, { logFile });
    h.slack.queue('chat.postMessage', aDay);

    const askedAt = Date.now();
    const id = (await h.receive()).body.id as number;
    const db = new Database(h.env.DATABASE_PATH!, { readonly: true });
    try {
      const nextAttempt = () =>
        (db.prepare(`SELECT next_attempt_at, attempts FROM delivery WHERE check_id = ? AND kind = 'post_card'`).get(id) as
          | { next_attempt_at: number; attempts: number }
          | undefined);
      const scheduled = await eventually('the card rescheduled after the 429', () => {
        const row = nextAttempt();
        return row && row.attempts === 1 ? row.next_attempt_at : undefined;
      });
      expect(scheduled - askedAt).toBeGreaterThan(MAX_RETRY_AFTER_MS - 60_000);
      expect(scheduled - Date.now()).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS);

      const warning = await eventually('the warning in the log', () =>
        fs
          .readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { level: number; msg: string; retryAfterMs?: number; cappedMs?: number })
          .find((line) => line.retryAfterMs !== undefined),
      );
      expect(warning).toMatchObject({ level: 40, retryAfterMs: 86_400_000, cappedMs: 15 * 60_000 });
      expect(warning.msg).toBe('asked to wait 86400s before retrying: waiting 900s, the longest the bot honours');

      // The stored wait is what a restart picks up: still 15 minutes at most.
      await h.restart();
      expect(nextAttempt()!.next_attempt_at - Date.now()).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS);
    } finally {
      db.close();
    }
    expect(h.slack.calls('chat.postMessage')).toEqual([]);
  });
});
