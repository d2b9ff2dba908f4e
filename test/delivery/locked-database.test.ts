import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, statusCheck, type Harness } from '../support/harness.js';
import { holdWriteLock } from '../support/write-lock.js';

/** Longer than the bot's busy timeout (5 s): its writes meanwhile fail. */
const HOLD_MS = 7000;

describe('a delivery whose outcome cannot be written down', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('is tried again once the database takes writes, and the lane goes on with the next', async () => {
    h = await startHarness();
    // Slack answers after a while: the card is posted while another process holds the lock.
    h.slack.slow('chat.postMessage', 2500);
    const first = (await h.receive()).body.id as number;
    const lock = await holdWriteLock(h.env.DATABASE_PATH!, HOLD_MS);
    await lock.released;
    h.slack.slow('chat.postMessage', 0);

    await expect.poll(async () => (await h.bot.store.getCheck(first))?.slackTs ?? null, { timeout: 30_000 }).not.toBeNull();
    const second = (await h.receive(statusCheck({ iid: 129 }))).body.id as number;
    await expect.poll(async () => (await h.bot.store.getCheck(second))?.slackTs ?? null, { timeout: 30_000 }).not.toBeNull();
  }, 60_000);
});
