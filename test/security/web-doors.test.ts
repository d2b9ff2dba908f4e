import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basic, startHarness, type Harness } from '../support/harness.js';
import { csrfOf, submitDecision } from '../support/web.js';

describe('the web list’s decision route takes only the outcomes it knows', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'APPROVE', 'approve '])(
    'POST /checks/:id/%s is 404 and names the outcome, and nothing is decided',
    async (outcome) => {
      const id = (await h.receive()).body.id as number;
      const list = await fetch(`${h.bot.url}/`, { headers: { authorization: basic() } });
      const csrf = csrfOf(await list.text());
      const res = await fetch(`${h.bot.url}/checks/${id}/${encodeURIComponent(outcome)}`, {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }).toString(),
        redirect: 'manual',
      });
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('is not an outcome');
      expect(html).toContain('approve or reject');
      expect(h.bot.store.getCheck(id)?.state).toBe('pending');
      // The route still works for the outcomes it knows.
      expect((await submitDecision(h, id, 'approve', { csrf })).status).toBe(303);
    },
  );
});
