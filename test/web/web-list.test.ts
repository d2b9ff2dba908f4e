import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, basic, startHarness, statusCheck, WEB_USER, type Harness } from '../support/harness.js';
import { csrfOf, submitDecision } from '../support/web.js';

async function page(url: string, authorization: string | null = basic()): Promise<{ status: number; html: string; headers: Headers }> {
  const res = await fetch(url, { headers: authorization ? { authorization } : {}, redirect: 'manual' });
  return { status: res.status, html: await res.text(), headers: res.headers };
}

const rowOf = (html: string, id: number): string => {
  const match = new RegExp(`<tr class="[a-z]+" id="check-${id}">([\\s\\S]*?)</tr>`).exec(html);
  if (!match) throw new Error(`check ${id} is not on the page`);
  return match[0];
};

describe('the web list', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('asks for a name and password, and refuses a wrong password', async () => {
    const anonymous = await page(`${h.bot.url}/`, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="GitLab approvals"/);
    expect(anonymous.html).toContain('Sign in required');

    const wrong = await page(`${h.bot.url}/`, basic(WEB_USER.name, 'not-the-password'));
    expect(wrong.status).toBe(401);
    expect(wrong.html).not.toContain('acme/payments-api');
  });

  it('shows a check: project, merge request, title, branches, short commit and state', async () => {
    const id = (await h.receive()).body.id as number;
    const { status, html, headers } = await page(`${h.bot.url}/`);
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    const row = rowOf(html, id);
    expect(row).toContain('acme/payments-api');
    expect(row).toContain('!128');
    expect(row).toContain('Retry card capture on gateway timeout');
    expect(row).toContain('<code>feature/capture-retry</code> → <code>main</code>');
    expect(row).toContain('<code>9f2c4e1b</code>');
    expect(row).toContain('<span class="badge pending">Waiting</span>');
    expect(html).toContain(`Signed in as <strong>${WEB_USER.name}</strong>`);
  });

  it('escapes a title that carries markup', async () => {
    const id = (await h.receive(statusCheck({ title: 'Fix <script>alert(1)</script> & "quotes"' }))).body.id as number;
    const { html } = await page(`${h.bot.url}/`);
    expect(html).not.toContain('<script>');
    expect(rowOf(html, id)).toContain('Fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
  });

  it('sends security headers: no framing, no sniffing, a strict CSP', async () => {
    const { headers } = await page(`${h.bot.url}/`);
    const csp = headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-powered-by')).toBeNull();
  });

  it('an approval on the web reaches GitLab, updates the Slack card and records who decided', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    const list = await page(`${h.bot.url}/`);
    const answer = await submitDecision(h, id, 'approve', { csrf: csrfOf(list.html) });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/?notice=approved#check-${id}`);

    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toEqual({ sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4', external_status_check_id: 7, status: 'passed' });
    const [update] = await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    expect(JSON.stringify(update!.body.blocks)).toContain(`Approved* by ${WEB_USER.name} (web)`);
    expect(await h.bot.store.getCheck(id)).toMatchObject({
      state: 'approved',
      report: 'reported',
      decidedVia: 'web',
      decidedBy: WEB_USER.name,
      decidedByName: WEB_USER.name,
    });

    const after = await page(`${h.bot.url}/?notice=approved`);
    expect(after.html).toContain('Approved. The decision is on its way');
    expect(rowOf(after.html, id)).toContain('<span class="badge approved">Approved</span>');
    expect(rowOf(after.html, id)).toContain('<span class="detail">reported to GitLab</span><span class="by">by alice (web)</span>');
  });

  it.each([
    { name: 'no CSRF token', fields: {} as Record<string, string> },
    { name: 'a forged CSRF token', fields: { csrf: `${Date.now()}.${'A'.repeat(43)}` } },
    { name: 'a token in the wrong shape', fields: { csrf: 'abc' } },
  ])('refuses a form post with $name: 403 and nothing recorded', async ({ fields }) => {
    const id = (await h.receive()).body.id as number;
    const answer = await submitDecision(h, id, 'approve', fields);
    expect(answer.status).toBe(403);
    expect(answer.html).toContain('Form expired');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none', decidedBy: null });
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
  });

  it('a rejection with a reason reports failed and keeps the reason', async () => {
    const id = (await h.receive()).body.id as number;
    const csrf = csrfOf((await page(`${h.bot.url}/`)).html);
    const answer = await submitDecision(h, id, 'reject', { csrf, reason: 'No rollback plan for the migration' });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/?notice=rejected#check-${id}`);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'failed', external_status_check_id: 7 });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', decidedVia: 'web', reason: 'No rollback plan for the migration' });
    expect(await h.bot.store.decisionsOf(id)).toEqual([expect.objectContaining({ outcome: 'reject', via: 'web', reason: 'No rollback plan for the migration' })]);
  });

  it('deciding twice answers 409 and says who decided', async () => {
    const id = (await h.receive()).body.id as number;
    const csrf = csrfOf((await page(`${h.bot.url}/`)).html);
    expect((await submitDecision(h, id, 'approve', { csrf })).status).toBe(303);
    await h.gitlab.waitForResponses(1);

    const again = await submitDecision(h, id, 'reject', { csrf, reason: 'too late' });
    expect(again.status).toBe(409);
    expect(again.html).toContain('Not recorded');
    expect(again.html).toContain(`acme/payments-api!128 was already approved by ${WEB_USER.name}.`);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', reason: null });
    expect(await h.bot.store.decisionsOf(id)).toHaveLength(1);
  });

  it('a check approved in Slack cannot be decided again on the web', async () => {
    const id = (await h.receive()).body.id as number;
    const csrf = csrfOf((await page(`${h.bot.url}/`)).html);
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);

    const late = await submitDecision(h, id, 'approve', { csrf });
    expect(late.status).toBe(409);
    expect(late.html).toContain(`was already approved by ${APPROVER.toLowerCase()}.`);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ decidedVia: 'slack', decidedBy: APPROVER });
    expect(h.gitlab.responses).toHaveLength(1);
  });
});

describe('the web list when it is off', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ WEB_USERS: '' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('answers 404 with a page saying how to turn it on', async () => {
    const { status, html } = await page(`${h.bot.url}/`);
    expect(status).toBe(404);
    expect(html).toContain('The web list is off');
    expect(html).toContain('Set WEB_USERS=name:password');
  });
});

describe('serving under a BASE_PATH', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ BASE_PATH: '/approval-apps' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('serves health, status checks and the web list under the prefix, with links and forms that keep it', async () => {
    const root = `http://127.0.0.1:${h.bot.port}`;
    expect(h.bot.url).toBe(`${root}/approval-apps`);

    const health = await fetch(`${root}/approval-apps/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${root}/healthz`)).status).toBe(404);

    const received = await h.receive();
    expect(received.status).toBe(202);
    const id = received.body.id as number;

    const { status, html } = await page(`${root}/approval-apps/`);
    expect(status).toBe(200);
    expect(html).toContain('href="/approval-apps/assets/style.css"');
    expect(html).toContain(`action="/approval-apps/checks/${id}/approve"`);
    expect(html).toContain(`action="/approval-apps/checks/${id}/reject"`);
    expect(html).not.toMatch(/(href|action)="\/(?!approval-apps)/);

    const css = await fetch(`${root}/approval-apps/assets/style.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');

    const answer = await submitDecision(h, id, 'approve', { csrf: csrfOf(html) });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/approval-apps/?notice=approved#check-${id}`);
    await h.gitlab.waitForResponses(1);
  });
});
