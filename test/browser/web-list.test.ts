import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { APPROVER, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';

// A loaded machine runs this beside other suites: generous bounds on "eventually".
const LIVE_WITHIN_MS = 15_000;

/** The numbers of the checks a list page shows, top to bottom. */
const idsOn = async (page: Page): Promise<number[]> =>
  (await page.locator('tr[id^="check-"]').evaluateAll((rows) => rows.map((r) => r.id))).map((id) => Number(id.slice('check-'.length)));

describe('the web list in a browser', () => {
  let browser: TestBrowser;
  let h: Harness;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser.close();
  });
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('fits a 390 px phone: no sideways scrolling, Approve on screen, the history page too', async () => {
    const long = 'Rewrite the settlement reconciliation job so that it streams rows instead of loading the whole ledger into memory';
    const payload = statusCheck({ title: `${long} (SettlementReconciliationStreamingRewriteWithoutWordBreaks)` });
    payload.object_attributes.source_branch = 'feature/settlement-reconciliation-streaming-rewrite-without-loading-the-ledger';
    const id = (await h.receive(payload)).body.id as number;
    const { page, errors } = await browser.open({ width: 390, height: 844 });

    await page.goto(`${h.bot.url}/`);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const approve = page.locator(`#check-${id} button.approve`);
    const box = await approve.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(box!.y + box!.height).toBeLessThanOrEqual(844);

    await page.locator(`#check-${id} a.history`).click();
    await page.waitForURL(`**/checks/${id}`);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
  });

  it('shows a check sent while the page is open, and a decision made in Slack, without a reload', async () => {
    const { page, errors } = await browser.open();
    await page.goto(`${h.bot.url}/`);
    await expect(page.locator('.empty').first().textContent()).resolves.toContain('Nothing waits for a decision');
    // A reload would clear this; the live update must not.
    await page.evaluate('window.openedOnce = true');

    const id = (await h.receive()).body.id as number;
    await page.locator(`#check-${id} button.approve`).waitFor({ timeout: LIVE_WITHIN_MS });
    expect(await page.title()).toBe('1 waiting — GitLab approvals');

    await h.click(APPROVER, 'approve_check', id);
    await page.locator(`#check-${id} .badge.approved`).waitFor({ timeout: LIVE_WITHIN_MS });
    await page.locator(`#check-${id}`, { hasText: 'reported to GitLab' }).waitFor({ timeout: LIVE_WITHIN_MS });
    expect(await page.evaluate('window.openedOnce')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps a reason being typed: the list waits, then catches up once the box is left empty', async () => {
    const first = (await h.receive(statusCheck({ iid: 1 }))).body.id as number;
    const { page, errors } = await browser.open();
    await page.goto(`${h.bot.url}/`);
    const reason = page.locator(`#check-${first} form.reject input[name="reason"]`);
    await reason.fill('Needs a rollback plan');
    let polls = 0;
    page.on('requestfinished', (r) => {
      if (r.url().endsWith('/changes')) polls += 1;
    });

    const second = (await h.receive(statusCheck({ iid: 2 }))).body.id as number;
    // Three polls that saw the new check and held back.
    const seenBy = polls + 3;
    await vi.waitFor(() => expect(polls).toBeGreaterThanOrEqual(seenBy), { timeout: LIVE_WITHIN_MS, interval: 100 });
    expect(await reason.inputValue()).toBe('Needs a rollback plan');
    expect(await page.locator(`#check-${second}`).count()).toBe(0);

    await reason.fill('');
    await page.locator('input[name="q"]').focus();
    await page.locator(`#check-${second}`).waitFor({ timeout: LIVE_WITHIN_MS });
    expect(errors).toEqual([]);
  });

  it('approving in the browser reports to GitLab and says so on the list', async () => {
    const id = (await h.receive()).body.id as number;
    const { page, errors } = await browser.open();
    await page.goto(`${h.bot.url}/`);
    await page.locator(`#check-${id} button.approve`).click();
    await page.locator('.notice', { hasText: 'Approved.' }).waitFor();
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed', external_status_check_id: 7 });
    await page.locator(`#check-${id}`, { hasText: 'reported to GitLab' }).waitFor({ timeout: LIVE_WITHIN_MS });
    expect(errors).toEqual([]);
  });

  it('works with scripts off: a reload shows what is new, and Approve still decides', async () => {
    const { page, errors } = await browser.open();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    await page.goto(`${h.bot.url}/`);
    expect(await page.locator('td.when time').count()).toBe(0);

    const id = (await h.receive()).body.id as number;
    await page.reload();
    // Without the script the server's UTC text stays.
    expect(await page.locator(`#check-${id} td.when time`).textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await Promise.all([page.waitForURL(/notice=approved/), page.locator(`#check-${id} button.approve`).click()]);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    expect(await page.locator(`#check-${id} .badge`).textContent()).toBe('Approved');
    expect(errors).toEqual([]);
  });

  it('pages through every one of 150 pending checks with the Next links', async () => {
    const sent: number[] = [];
    for (let iid = 1; iid <= 150; iid += 1) sent.push((await h.receive(statusCheck({ iid, title: `Change number ${iid}` }))).body.id as number);
    const { page, errors } = await browser.open();
    await page.goto(`${h.bot.url}/`);
    expect(await page.locator('#h-pending .count').textContent()).toBe('150');

    const seen: number[] = [];
    let pages = 1;
    for (; ; pages += 1) {
      expect(pages).toBeLessThanOrEqual(4);
      seen.push(...(await idsOn(page)));
      const next = page.locator('#h-pending ~ .pager a[rel="next"]');
      if ((await next.count()) === 0) break;
      await Promise.all([page.waitForURL(/after=/), next.click()]);
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(150);
    expect([...seen].sort((a, b) => a - b)).toEqual([...sent].sort((a, b) => a - b));
    expect(errors).toEqual([]);
    // 150 signed calls and three pages: room for a machine busy with other suites.
  }, 120_000);

  it('filters by search words and by state', async () => {
    const retry = (await h.receive(statusCheck({ iid: 1, title: 'Retry card capture on gateway timeout' }))).body.id as number;
    const refund = (await h.receive(statusCheck({ iid: 2, title: 'Partial refunds for split payments' }))).body.id as number;
    const fees = (await h.receive(statusCheck({ iid: 3, title: 'Show fees on the receipt' }))).body.id as number;
    await h.click(APPROVER, 'approve_check', fees);
    await h.gitlab.waitForResponses(1);

    const { page, errors } = await browser.open();
    await page.goto(`${h.bot.url}/`);
    await page.fill('input[name="q"]', 'refund');
    await Promise.all([page.waitForURL(/q=refund/), page.press('input[name="q"]', 'Enter')]);
    expect(await idsOn(page)).toEqual([refund]);

    await page.fill('input[name="q"]', '!1');
    await Promise.all([page.waitForURL(/q=%211/), page.click('form.search button')]);
    expect(await idsOn(page)).toEqual([retry]);

    await page.fill('input[name="q"]', '');
    await page.selectOption('select[name="state"]', 'approved');
    await Promise.all([page.waitForURL(/state=approved/), page.click('form.search button')]);
    expect(await idsOn(page)).toEqual([fees]);
    expect(errors).toEqual([]);
  });

  it('shows history times in the viewer’s zone, with seconds, and events in words', async () => {
    const id = (await h.receive()).body.id as number;
    await vi.waitFor(async () => expect((await h.bot.store.getCheck(id))?.slackTs).toBeTruthy(), { timeout: LIVE_WITHIN_MS, interval: 50 });
    const { page, errors } = await browser.open();
    await page.goto(`${h.bot.url}/checks/${id}`);
    expect(await page.locator('td.what', { hasText: 'Card posted to Slack channel' }).count()).toBe(1);
    const when = (await page.locator('td.when time').first().textContent()) ?? '';
    // The browser runs in Europe/Berlin: the server's UTC text is rewritten there.
    expect(when).toMatch(/\d\d:\d\d:\d\d/);
    expect(when).not.toContain('UTC');
    expect(when).toMatch(/CET|GMT\+1/);
    expect(await page.locator('table.events').textContent()).not.toContain('card_posted');
    expect(errors).toEqual([]);
  });
});
