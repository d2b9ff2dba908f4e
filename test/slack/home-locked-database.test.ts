import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { appHomeOpened, sendEvent } from '../../src/fakes/slack.js';
import { APPROVER, SECRETS, startHarness, type Harness } from '../support/harness.js';

/** Another process takes the database's write lock and holds it for `ms`; resolves once it has it. */
async function holdWriteLock(file: string, ms: number): Promise<{ released: Promise<unknown> }> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, ${ms});
  `;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before it held the lock`)));
  });
  return { released };
}

describe('the Home tab while the database refuses writes', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('is still drawn for the person who opened it: what waits for them is read, not written', async () => {
    h = await startHarness();
    await h.receive();
    await h.slack.waitFor('chat.postMessage');
    const lock = await holdWriteLock(h.env.DATABASE_PATH!, 4000);
    expect((await sendEvent(`${h.bot.url}/slack/events`, appHomeOpened(APPROVER), SECRETS.signingSecret)).status).toBe(200);
    const [drawn] = await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === APPROVER, 3000);
    expect(JSON.stringify(drawn!.body.view)).toContain('Waiting for you (1)');
    await lock.released;
  }, 30_000);
});
