import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackHeaders } from '../../src/fakes/slack.js';
import { SECRETS, startHarness, type Harness } from '../support/harness.js';

/*
 * Slack checks an app's Event Subscriptions address before it sends it any event: a signed
 * `url_verification` whose `challenge` the address must echo. The README tells operators to
 * press Retry there once the bot runs; this is what makes that work.
 */
describe('Slack’s check of the Event Subscriptions address', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ BASE_PATH: '/approval-apps' });
  });
  afterAll(async () => {
    await h.stop();
  });

  const challenge = JSON.stringify({ token: 'legacy-token', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });

  it('is answered with the challenge when Slack signed it', async () => {
    const res = await fetch(`${h.bot.url}/slack/events`, {
      method: 'POST',
      headers: { ...slackHeaders(challenge, SECRETS.signingSecret), 'content-type': 'application/json' },
      body: challenge,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('is refused when signed with another secret, so nobody else can point an app at the bot', async () => {
    const res = await fetch(`${h.bot.url}/slack/events`, {
      method: 'POST',
      headers: { ...slackHeaders(challenge, 'not-the-signing-secret'), 'content-type': 'application/json' },
      body: challenge,
    });
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('3eZbrw1a');
  });
});
