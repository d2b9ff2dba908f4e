/**
 * Draws the README's screenshots of the web list: a bot with a few sample checks, Debian's
 * Chromium at a desktop's and a phone's width. `npx tsx test/browser/screenshots.ts [folder]`
 * (docs/screenshots by default).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { mergeRequestInto } from '../support/policy.js';
import { APPROVER, startHarness } from '../support/harness.js';
import { launchBrowser } from '../support/browser.js';
import { decideOnWeb } from '../support/web.js';

const out = path.resolve(process.argv[2] ?? 'docs/screenshots');
fs.mkdirSync(out, { recursive: true });

const samples = [
  { project: 'acme/payments-api', target: 'main', iid: 128, title: 'Retry card capture on gateway timeout', branch: 'feature/capture-retry' },
  { project: 'acme/payments-api', target: 'main', iid: 131, title: 'Partial refunds for split payments', branch: 'feature/split-refunds' },
  { project: 'acme/checkout-web', target: 'main', iid: 57, title: 'Show card fees before the customer pays', branch: 'fees-on-summary' },
  { project: 'acme/ledger', target: 'release/2026.12', iid: 902, title: 'Stream settlement rows instead of loading the whole ledger', branch: 'stream-settlement' },
  { project: 'acme/checkout-web', target: 'main', iid: 55, title: 'Drop the legacy 3-D Secure v1 flow', branch: 'remove-3ds1' },
  { project: 'acme/payments-api', target: 'main', iid: 126, title: 'Bump pino to 10.4', branch: 'deps/pino-10.4' },
];

const h = await startHarness();
const browser = await launchBrowser();
try {
  const ids: number[] = [];
  for (const s of samples) {
    const payload = mergeRequestInto(s.project, s.target, { iid: s.iid });
    Object.assign(payload.object_attributes, { title: s.title, source_branch: s.branch });
    payload.object_attributes.last_commit.id = crypto.createHash('sha1').update(s.title).digest('hex');
    ids.push((await h.receive(payload)).body.id as number);
  }
  await h.click(APPROVER, 'approve_check', ids[5]!);
  await decideOnWeb(h, ids[4]!, 'reject', { reason: 'Some issuers still need v1 until January; keep it behind a flag.' });
  await h.gitlab.waitForResponses(2);
  await h.slack.waitFor('chat.postMessage', samples.length);

  const shoot = async (url: string, file: string, width: number, height: number) => {
    const { page, errors } = await browser.open({ width, height });
    await page.goto(url);
    // Wait until the script has put times in the viewer's zone.
    await page.waitForFunction('!document.body.textContent.includes(" UTC")');
    await page.screenshot({ path: path.join(out, file), fullPage: true });
    if (errors.length > 0) throw new Error(`console errors on ${url}: ${errors.join('; ')}`);
    await page.close();
  };
  await shoot(`${h.bot.url}/`, 'web-list-wide.png', 1280, 800);
  await shoot(`${h.bot.url}/`, 'web-list-phone.png', 390, 844);
  await shoot(`${h.bot.url}/checks/${ids[4]!}`, 'history-phone.png', 390, 844);
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await h.stop();
}
