import fs from 'node:fs';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { tempDir, WEB_USER } from './harness.js';

/** Debian's chromium package: the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  /** A signed-in page of `width` × `height`, recording what its console reports as errors. */
  open(options?: { width?: number; height?: number }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile and nothing that phones home, so a test sees
 * only the bot on 127.0.0.1. Each page signs in with the test's WEB_USERS credentials.
 * Playwright takes the fresh profile folder as `userDataDir` (it refuses --user-data-dir in args).
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does.`);
  const profile = tempDir();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    httpCredentials: { username: WEB_USER.name, password: WEB_USER.password },
    // A zone and language of their own, so a test can tell the page localized its times.
    timezoneId: 'Europe/Berlin',
    locale: 'en-GB',
  });
  return {
    context,
    open: async ({ width = 1280, height = 900 } = {}) => {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      const errors: string[] = [];
      page.on('console', (m: ConsoleMessage) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      return { page, errors };
    },
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
