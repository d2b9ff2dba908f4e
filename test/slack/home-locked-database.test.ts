import { afterEach, describe, expect, it } from 'vitest';
import { appHomeOpened, sendEvent } from '../../src/fakes/slack.js';
import { APPROVER, SECRETS, startHarness, type Harness } from '../support/harness.js';
import { holdWriteLock } from '../support/write-lock.js';

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
