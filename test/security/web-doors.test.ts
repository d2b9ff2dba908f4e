import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basic, startHarness, WEB_USER, type Harness } from '../support/harness.js';
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
      expect((await h.bot.store.getCheck(id))?.state).toBe('pending');
      // The route still works for the outcomes it knows.
      expect((await submitDecision(h, id, 'approve', { csrf })).status).toBe(303);
    },
  );
});

/** A GET of the web list from a given loopback address (127.0.0.0/8 is all this machine). */
function getFrom(url: string, address: string, authorization: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress: address, headers: { authorization } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', reject);
  });
}

describe('wrong passwords on the web list are limited', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ WEB_USERS: `${WEB_USER.name}:${WEB_USER.password},bob:bobs-own-password` });
  });
  afterEach(async () => {
    await h.stop();
  });
  const wrong = (name = WEB_USER.name) => basic(name, 'guess-' + Math.random().toString(36).slice(2));

  it('after 10 failures from one address, that address gets 429 with Retry-After, even with the right password; others do not', async () => {
    // Ten different names, so that only the address reaches the limit.
    for (let i = 0; i < 10; i++) expect((await getFrom(`${h.bot.url}/`, '127.0.0.1', wrong(`user${i}`))).status).toBe(401);
    const blocked = await getFrom(`${h.bot.url}/`, '127.0.0.1', basic());
    expect(blocked.status).toBe(429);
    const seconds = Number(blocked.retryAfter);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(300);
    expect(blocked.body).toContain('Too many wrong passwords');
    expect(blocked.body).not.toContain('acme/payments-api');
    // Another address, and a signed-in person elsewhere, are not held up.
    expect((await getFrom(`${h.bot.url}/`, '127.0.0.2', basic())).status).toBe(200);
  });

  it('a success does not erase the count early', async () => {
    for (let i = 0; i < 9; i++) expect((await getFrom(`${h.bot.url}/`, '127.0.0.3', wrong())).status).toBe(401);
    expect((await getFrom(`${h.bot.url}/`, '127.0.0.3', basic())).status).toBe(200);
    expect((await getFrom(`${h.bot.url}/`, '127.0.0.3', wrong())).status).toBe(401);
    expect((await getFrom(`${h.bot.url}/`, '127.0.0.3', basic())).status).toBe(429);
  });

  it('after 10 failures for one name from many addresses, that name gets 429; other names do not', async () => {
    for (let i = 0; i < 10; i++) expect((await getFrom(`${h.bot.url}/`, `127.0.1.${i + 1}`, wrong())).status).toBe(401);
    const blocked = await getFrom(`${h.bot.url}/`, '127.0.2.1', basic());
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect((await getFrom(`${h.bot.url}/`, '127.0.2.1', basic('bob', 'bobs-own-password'))).status).toBe(200);
  });
});
