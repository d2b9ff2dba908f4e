import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, statusCheck, type Harness } from '../support/harness.js';

/** Longer than the bot's busy timeout (5 s): its writes meanwhile fail. */
const HOLD_MS = 7000;

/** Another process takes the database's write lock and holds it; resolves once it has it. */
async function holdWriteLock(file: string): Promise<{ released: Promise<unknown> }> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, ${HOLD_MS});
  `;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before it held the lock`)));
  });
  return { released };
}

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
    const lock = await holdWriteLock(h.env.DATABASE_PATH!);
    await lock.released;
    h.slack.slow('chat.postMessage', 0);

    await expect.poll(() => h.bot.store.getCheck(first)?.slackTs ?? null, { timeout: 30_000 }).not.toBeNull();
    const second = (await h.receive(statusCheck({ iid: 129 }))).body.id as number;
    await expect.poll(() => h.bot.store.getCheck(second)?.slackTs ?? null, { timeout: 30_000 }).not.toBeNull();
  }, 60_000);
});
