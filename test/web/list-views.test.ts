import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APPROVER, basic, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { mergeRequestInto, startWithPolicy } from '../support/policy.js';

async function get(h: Harness, path: string, authorization: string | null = basic()) {
  const res = await fetch(`${h.bot.url}${path}`, { headers: authorization ? { authorization } : {}, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The checks a list page shows, top to bottom. */
const idsOn = (html: string): number[] => [...html.matchAll(/<tr class="[a-z]+" id="check-(\d+)">/g)].map((m) => Number(m[1]));

describe('finding a check on the web list', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('searches by title, branch, author and merge request, and escapes the search in the page', async () => {
    const retry = (await h.receive(statusCheck({ iid: 128, title: 'Retry card capture on gateway timeout' }))).body.id as number;
    const refund = (await h.receive(statusCheck({ iid: 131, title: 'Partial refunds' }))).body.id as number;

    expect(idsOn((await get(h, '/?q=refunds')).text)).toEqual([refund]);
    expect(idsOn((await get(h, '/?q=GATEWAY')).text)).toEqual([retry]);
    expect(idsOn((await get(h, '/?q=!131')).text)).toEqual([refund]);
    expect(idsOn((await get(h, '/?q=acme/payments-api!128')).text)).toEqual([retry]);
    expect(idsOn((await get(h, '/?q=other/project!128')).text)).toEqual([]);
    // Every sample commit is Dana Reyes's, on feature/capture-retry.
    expect(idsOn((await get(h, '/?q=dana')).text).sort()).toEqual([retry, refund].sort());
    expect(idsOn((await get(h, '/?q=capture-retry')).text).sort()).toEqual([retry, refund].sort());
    // LIKE's wildcards are plain characters in a search.
    expect(idsOn((await get(h, '/?q=%25')).text)).toEqual([]);
    expect(idsOn((await get(h, '/?q=_')).text)).toEqual([]);

    const markup = await get(h, `/?q=${encodeURIComponent('"><script>x</script>')}`);
    expect(markup.status).toBe(200);
    expect(markup.text).not.toContain('<script>x');
    expect(markup.text).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });

  it('filters by state, and the front page shows what waits, then recent decisions', async () => {
    const waiting = (await h.receive(statusCheck({ iid: 1 }))).body.id as number;
    const approved = (await h.receive(statusCheck({ iid: 2 }))).body.id as number;
    const rejected = (await h.receive(statusCheck({ iid: 3 }))).body.id as number;
    await h.click(APPROVER, 'approve_check', approved);
    await h.submitReject(APPROVER, rejected, 'Not this week');
    await h.gitlab.waitForResponses(2);

    expect(idsOn((await get(h, '/?state=pending')).text)).toEqual([waiting]);
    expect(idsOn((await get(h, '/?state=approved')).text)).toEqual([approved]);
    expect(idsOn((await get(h, '/?state=rejected')).text)).toEqual([rejected]);
    expect(idsOn((await get(h, '/?state=decided')).text).sort()).toEqual([approved, rejected].sort());
    expect(idsOn((await get(h, '/?state=all')).text).sort()).toEqual([waiting, approved, rejected].sort());
    expect(idsOn((await get(h, '/?state=merged')).text)).toEqual([]);

    const front = (await get(h, '/')).text;
    expect(idsOn(front)[0]).toBe(waiting);
    expect(idsOn(front).sort()).toEqual([waiting, approved, rejected].sort());
    expect(front).toContain('<option value="" selected>');
    expect((await get(h, '/?state=rejected')).text).toContain('<option value="rejected" selected>');
  });

  it('pages the decided list with rel="next" links that reach every check once', async () => {
    const decided: number[] = [];
    for (let iid = 1; iid <= 55; iid += 1) {
      const id = (await h.receive(statusCheck({ iid }))).body.id as number;
      await h.click(APPROVER, 'approve_check', id);
      decided.push(id);
    }
    await h.gitlab.waitForResponses(55);

    const seen: number[] = [];
    let path: string | null = '/?state=approved';
    for (let pages = 0; path; pages += 1) {
      expect(pages).toBeLessThan(3);
      const { status, text } = await get(h, path);
      expect(status).toBe(200);
      seen.push(...idsOn(text));
      const next = /<a rel="next" href="([^"]+)">/.exec(text);
      path = next ? next[1]!.replace(/&amp;/g, '&') : null;
    }
    expect(seen).toHaveLength(55);
    expect([...seen].sort((a, b) => a - b)).toEqual(decided);
  }, 120_000);

  it.each([
    { query: '?state=bogus', says: 'state must be one of pending, approved, rejected' },
    { query: '?state=pending&after=2026-12-01T00:00:00.000Z_4', says: 'follow the list’s Next link' },
    { query: '?state=approved&after=12', says: 'follow the list’s Next link' },
    { query: '?after=12', says: 'follow the list’s Next link' },
    { query: `?q=${'x'.repeat(201)}`, says: 'keep it to 200' },
    { query: '?q=a&q=b', says: 'q was given more than once' },
  ])('refuses a list address it cannot read ($query): 400 saying what is wrong', async ({ query, says }) => {
    const { status, text } = await get(h, `/${query}`);
    expect(status).toBe(400);
    expect(text).toContain('Cannot show that list');
    expect(text).toContain(says);
  });
});

describe('the parts an open list runs on', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('/changes moves when a check arrives and when it is decided, and is for signed-in people only', async () => {
    expect((await get(h, '/changes', null)).status).toBe(401);
    const mark = async () => {
      const res = await get(h, '/changes');
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      return (JSON.parse(res.text) as { mark: string }).mark;
    };
    const empty = await mark();
    const id = (await h.receive()).body.id as number;
    expect(await mark()).not.toBe(empty);
    // Posting the card changes the check too; the page carries the mark of when it was drawn.
    await vi.waitFor(async () => expect((await h.bot.store.getCheck(id))?.slackTs).toBeTruthy(), { timeout: 10_000, interval: 50 });
    const received = await mark();
    expect((await get(h, '/')).text).toContain(`data-mark="${received}"`);

    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    expect(await mark()).not.toBe(received);
  });

  it('serves its script, style and favicon itself, under a CSP with no inline script', async () => {
    const page = await get(h, '/');
    expect(page.text).toContain('<script src="/assets/list.js" defer></script>');
    expect(page.text).toContain('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">');
    expect(page.text).not.toMatch(/<script(?! src=)/);
    expect(page.text).not.toMatch(/ on[a-z]+="/);
    expect(page.text).not.toContain('style="');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');

    for (const [path, type] of [
      ['/assets/list.js', 'text/javascript'],
      ['/assets/favicon.svg', 'image/svg+xml'],
      ['/assets/style.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${h.bot.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
    }
  });

  it('sends ISO times for the script to localize, with seconds on the history page', async () => {
    const id = (await h.receive()).body.id as number;
    expect((await get(h, '/')).text).toMatch(/<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time>/);
    expect((await get(h, `/checks/${id}`)).text).toMatch(/<time datetime="[^"]+Z" class="precise">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/);
  });

  it('the sign-in page speaks to approvers, not of settings', async () => {
    const { status, text } = await get(h, '/', null);
    expect(status).toBe(401);
    expect(text).toContain('the name and password you were given for this list');
    expect(text).not.toMatch(/WEB_USERS|GITLAB_|SESSION_SECRET/);
  });
});

describe('one check’s history export', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('the history page links to that check’s trail only, as CSV and JSON', async () => {
    const mine = (await h.receive(statusCheck({ iid: 1 }))).body.id as number;
    const other = (await h.receive(statusCheck({ iid: 2 }))).body.id as number;
    await h.click(APPROVER, 'approve_check', mine);
    await h.click(APPROVER, 'approve_check', other);
    await h.gitlab.waitForResponses(2);

    const history = (await get(h, `/checks/${mine}`)).text;
    expect(history).toContain(`href="/audit?check=${mine}&amp;format=csv"`);
    expect(history).toContain(`href="/audit?check=${mine}&amp;format=json"`);

    const csv = await get(h, `/audit?check=${mine}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toContain(`audit-check-${mine}.csv`);
    const checkIds = csv.text.trim().split('\r\n').slice(1).map((line) => Number(line.split(',')[2]));
    expect(checkIds.length).toBeGreaterThanOrEqual(3);
    expect(new Set(checkIds)).toEqual(new Set([mine]));

    const json = JSON.parse((await get(h, `/audit?check=${mine}&format=json`)).text) as { check: number; events: Array<{ checkId: number; event: string }> };
    expect(json.check).toBe(mine);
    expect(new Set(json.events.map((e) => e.checkId))).toEqual(new Set([mine]));
    expect(json.events.map((e) => e.event)).toEqual(expect.arrayContaining(['received', 'approved', 'reported']));
  });

  it('refuses a check that is not a number (400) and one that does not exist (404)', async () => {
    const bad = await get(h, '/audit?check=1%20OR%201=1');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toContain('check must be the number of one check');
    const missing = await get(h, '/audit?check=999');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error).toBe('There is no check 999.');
  });
});

describe('the comment box', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('shows only where the rule asks for a comment with each approval', async () => {
    h = await startWithPolicy(`rules:
  - name: payments
    projects: acme/payments-*
    approvers:
      slack: [${APPROVER}]
    approve_with_comment: true
  - name: everything else
    projects: '**'
    approvers:
      slack: [${APPROVER}]
`);
    const asks = (await h.receive(mergeRequestInto('acme/payments-api', 'main', { iid: 1 }))).body.id as number;
    const quiet = (await h.receive(mergeRequestInto('acme/checkout-web', 'main', { iid: 2 }))).body.id as number;
    const html = (await get(h, '/')).text;
    const approveForm = (id: number) => new RegExp(`<form class="approve" method="post" action="/checks/${id}/approve">[\\s\\S]*?</form>`).exec(html)![0];
    expect(approveForm(asks)).toContain('name="reason"');
    expect(approveForm(asks)).toContain('required');
    expect(approveForm(quiet)).not.toContain('name="reason"');
  });
});
