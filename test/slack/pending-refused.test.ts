import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, statusCheck, type Harness } from '../support/harness.js';

describe('/pending when Slack refuses the list', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('says so in plain words with the web list’s address instead of leaving the person with nothing', async () => {
    h = await startHarness({ BASE_PATH: '/approvals' });
    await h.receive(statusCheck({ iid: 128 }));
    await h.slack.waitFor('chat.postMessage');
    h.slack.queue('response_url', { status: 400, headers: { 'content-type': 'text/plain' }, body: 'invalid_blocks' });

    const responseUrl = h.slack.responseUrl();
    expect((await h.slashCommand('/pending', undefined, { responseUrl })).status).toBe(200);
    const path = new URL(responseUrl).pathname;
    await h.slack.refused.waitFor((c) => c.method === 'response_url' && c.path === path);
    const [plain] = await h.slack.waitFor('response_url', 1, (c) => c.path === path);
    expect(plain!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(plain!.body.blocks).toBeUndefined();
    expect(String(plain!.body.text)).toContain('1 check waiting for a decision');
    expect(String(plain!.body.text)).toContain('https://approvals.example.com/approvals/');
  });
});
