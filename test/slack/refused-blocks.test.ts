import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

describe('a card Slack refuses as invalid_blocks', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('is recorded with the field Slack named, so it can be fixed', async () => {
    h = await startHarness();
    const problem = 'must be less than 3001 characters [json-pointer:/blocks/1/text/text]';
    h.slack.queue('chat.postMessage', {
      status: 200,
      body: { ok: false, error: 'invalid_blocks', errors: [problem], response_metadata: { messages: [`[ERROR] ${problem}`] } },
    });
    const id = (await h.receive()).body.id as number;
    await h.slack.refused.waitFor((c) => c.method === 'chat.postMessage');

    await expect.poll(async () => (await h.bot.store.getCheck(id))?.cardError, { timeout: 10_000 }).toBe(
      `The card could not be posted: Slack refused: invalid_blocks: ${problem} (a card broke a Block Kit limit; please report it with the bot’s logs)`,
    );
  });
});
