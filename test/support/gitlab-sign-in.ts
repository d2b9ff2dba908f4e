import { expect } from 'vitest';
import type { FakeGitLabUser } from '../../src/fakes/gitlab.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

/** Where people reach the bot; GitLab sends them back to it. The browser below maps it to 127.0.0.1. */
export const PUBLIC_URL = 'https://approvals.example.com';
export const SESSION_SECRET = 'session-secret-for-tests-0123456789-abcdef';
/** An approver: GITLAB_APPROVERS names her (see `oauthEnv`). */
export const KIRAN = { username: 'kpatel', name: 'Kiran Patel', email: 'kiran.patel@example.com' };

/** The GitLab application the bot signs people in through. */
export const app = (basePath = '') => ({
  clientId: 'approvals-app-0123456789',
  clientSecret: 'gloas-0123456789abcdef0123456789abcdef',
  redirectUri: `${PUBLIC_URL}${basePath}/auth/callback`,
});

export const oauthEnv = (extra: Record<string, string> = {}) => ({
  GITLAB_OAUTH_CLIENT_ID: app().clientId,
  GITLAB_OAUTH_CLIENT_SECRET: app().clientSecret,
  SESSION_SECRET,
  PUBLIC_URL,
  WEB_USERS: '',
  // GitLab users who may decide on the web under the default rule.
  GITLAB_APPROVERS: 'kpatel',
  ...extra,
});

/** The usual harness with Sign in with GitLab on; `user` is signed in to the fake GitLab (Kiran unless told). */
export async function startWithGitLabSignIn(
  extra: Record<string, string> = {},
  { user = KIRAN, ...options }: Omit<HarnessOptions, 'gitlabOAuth'> & { user?: FakeGitLabUser } = {},
): Promise<Harness> {
  const h = await startHarness(oauthEnv(extra), { ...options, gitlabOAuth: app(extra.BASE_PATH) });
  h.gitlab.oauthUser = user;
  return h;
}

/** A browser, by hand: keeps the bot's cookies and sends them only to the bot. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];

  constructor(readonly h: Harness) {}

  get origin(): string {
    return `http://127.0.0.1:${this.h.bot.port}`;
  }

  /** Where GitLab sends the browser back to (PUBLIC_URL) is this bot on 127.0.0.1. */
  local(url: string): string {
    return url.startsWith(PUBLIC_URL) ? `${this.origin}${url.slice(PUBLIC_URL.length)}` : url;
  }

  async visit(url: string, init: { method?: string; form?: Record<string, string>; authorization?: string } = {}): Promise<Response> {
    const target = this.local(url);
    const headers: Record<string, string> = {};
    if (target.startsWith(this.origin) && this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.authorization) headers.authorization = init.authorization;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });
    if (target.startsWith(this.origin)) this.#keep(res.headers.getSetCookie());
    return res;
  }

  #keep(lines: string[]): void {
    for (const line of lines) {
      this.setCookies.push(line);
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      const expired = attributes.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      if (expired || !value) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** Clicks "Sign in with GitLab": the bot's redirect to GitLab's authorize page. */
export async function startSignIn(browser: Browser): Promise<URL> {
  const res = await browser.visit(`${browser.h.bot.url}/auth/login`);
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') as string);
}

/** GitLab's consent page: the user is signed in there and authorizes; GitLab redirects back. */
export async function authorizeAtGitLab(browser: Browser, authorize: URL): Promise<URL> {
  const res = await browser.visit(authorize.toString());
  expect(res.status, await res.clone().text()).toBe(302);
  return new URL(res.headers.get('location') as string);
}

/** The whole way round: the bot, GitLab's consent, and back to the callback; its answer. */
export async function signIn(browser: Browser): Promise<Response> {
  const back = await authorizeAtGitLab(browser, await startSignIn(browser));
  return browser.visit(back.toString());
}
