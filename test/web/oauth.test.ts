import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems, minimalEnv } from '../support/samples.js';
import { CookieSeal, SESSION_COOKIE } from '../../src/web/session.js';
import { basic, statusCheck, tempDir, WEB_USER, type Harness } from '../support/harness.js';
import { csrfOf } from '../support/web.js';
import { app, authorizeAtGitLab, Browser, KIRAN, oauthEnv, PUBLIC_URL, SESSION_SECRET, signIn, startSignIn, startWithGitLabSignIn } from '../support/gitlab-sign-in.js';


describe('Sign in with GitLab', () => {
  let h: Harness;
  let browser: Browser;
  beforeEach(async () => {
    h = await startWithGitLabSignIn();
    browser = new Browser(h);
  });
  afterEach(async () => {
    await h.stop();
  });

  it('the list sends someone who is not signed in to GitLab, with PKCE and the read_user scope', async () => {
    const list = await browser.visit(`${h.bot.url}/`);
    expect(list.status).toBe(302);
    expect(list.headers.get('location')).toBe('/auth/login');

    const authorize = await startSignIn(browser);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${h.gitlab.url}/oauth/authorize`);
    const q = authorize.searchParams;
    expect(q.get('client_id')).toBe(app().clientId);
    expect(q.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/callback`);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('scope')).toBe('read_user');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [loginCookie] = browser.setCookies;
    expect(loginCookie).toMatch(/^approvals_login=[A-Za-z0-9_-]+; Max-Age=600; Path=\/auth; Expires=.+; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('signs in, shows the GitLab user, and an approval reaches GitLab recorded as kpatel via web', async () => {
    const callback = await signIn(browser);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/');

    const token = h.gitlab.requests.calls.find((c) => c.path === '/oauth/token');
    expect(token?.body).toMatchObject({ client_id: app().clientId, grant_type: 'authorization_code', redirect_uri: `${PUBLIC_URL}/auth/callback` });
    expect(token?.body.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const session = browser.setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`)) as string;
    expect(session).toMatch(/; Max-Age=28800; Path=\/; Expires=.+; HttpOnly; Secure; SameSite=Lax$/);
    // The cookie holds who signed in and until when: no GitLab token.
    const kept = new CookieSeal(SESSION_SECRET).open(SESSION_COOKIE, browser.cookies.get(SESSION_COOKIE), Date.now());
    expect(kept).toEqual({ ...KIRAN, userId: 4242, exp: expect.any(Number) });
    expect(browser.cookies.has('approvals_login')).toBe(false);

    const id = (await h.receive()).body.id as number;
    const list = await browser.visit(`${h.bot.url}/`);
    expect(list.status).toBe(200);
    const html = await list.text();
    expect(html).toContain('Signed in as <strong>Kiran Patel</strong> (@kpatel)');
    expect(html).toContain('<form method="post" action="/auth/logout">');

    const answer = await browser.visit(`${h.bot.url}/checks/${id}/approve`, { form: { csrf: csrfOf(html) } });
    expect(answer.status).toBe(303);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed', external_status_check_id: 7 });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedVia: 'web', decidedBy: 'kpatel', decidedByName: 'Kiran Patel' });
  });

  it('signing out clears the session; the list then asks to sign in again', async () => {
    await signIn(browser);
    const list = await browser.visit(`${h.bot.url}/`);
    const csrf = csrfOf(await list.text());

    const forged = await browser.visit(`${h.bot.url}/auth/logout`, { form: { csrf: 'abc' } });
    expect(forged.status).toBe(403);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);

    const out = await browser.visit(`${h.bot.url}/auth/logout`, { form: { csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/auth/signed-out');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    const signedOut = await browser.visit(`${h.bot.url}/auth/signed-out`);
    expect(await signedOut.text()).toContain('You are signed out');

    const again = await browser.visit(`${h.bot.url}/`);
    expect(again.status).toBe(302);
    expect(again.headers.get('location')).toBe('/auth/login');
  });

  it('refuses an answer whose state was not issued to this browser: 400, no token exchange, no session', async () => {
    const back = await authorizeAtGitLab(browser, await startSignIn(browser));
    back.searchParams.set('state', 'forged-state-from-somebody-else-0123456789ab');
    const res = await browser.visit(back.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('the state does not match');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect(h.gitlab.requests.calls.some((c) => c.path === '/oauth/token')).toBe(false);
    expect((await browser.visit(`${h.bot.url}/`)).status).toBe(302);
  });

  it('refuses a callback without the cookie that holds the state and verifier: 400', async () => {
    const back = await authorizeAtGitLab(browser, await startSignIn(browser));
    browser.cookies.delete('approvals_login');
    const res = await browser.visit(back.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('not started from this browser');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect(h.gitlab.requests.calls.some((c) => c.path === '/oauth/token')).toBe(false);
  });

  it('a code obtained for another challenge is refused by GitLab, and so is the sign-in', async () => {
    const authorize = await startSignIn(browser);
    // Someone else's authorization request: same state, but their challenge, not this browser's verifier.
    authorize.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const back = await authorizeAtGitLab(browser, authorize);
    const res = await browser.visit(back.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('GitLab refused the sign-in: The provided authorization grant is invalid');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect(h.gitlab.requests.calls.map((c) => c.path)).not.toContain('/api/v4/user');
  });

  it('says so when the person declines at GitLab', async () => {
    const authorize = await startSignIn(browser);
    const back = new URL(`${PUBLIC_URL}/auth/callback`);
    back.searchParams.set('error', 'access_denied');
    back.searchParams.set('error_description', 'The resource owner or authorization server denied the request.');
    back.searchParams.set('state', authorize.searchParams.get('state') as string);
    const res = await browser.visit(back.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('GitLab did not sign you in: The resource owner or authorization server denied the request.');
  });

  it.each([
    { name: 'expired', cookie: () => new CookieSeal(SESSION_SECRET).seal(SESSION_COOKIE, KIRAN, Date.now() - 1000) },
    { name: 'sealed with another secret', cookie: () => new CookieSeal('another-secret-of-32-characters-or-more').seal(SESSION_COOKIE, KIRAN, Date.now() + 60_000) },
    {
      name: 'tampered',
      cookie: () => {
        const good = new CookieSeal(SESSION_SECRET).seal(SESSION_COOKIE, KIRAN, Date.now() + 60_000);
        return `${good.slice(0, 30)}${good[30] === 'A' ? 'B' : 'A'}${good.slice(31)}`;
      },
    },
  ])('ignores a session cookie that is $name', async ({ cookie }) => {
    browser.cookies.set(SESSION_COOKIE, cookie());
    const res = await browser.visit(`${h.bot.url}/`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/auth/login');
  });

  it('accepts a session cookie sealed with SESSION_SECRET that has not expired (the check above is not vacuous)', async () => {
    browser.cookies.set(SESSION_COOKIE, new CookieSeal(SESSION_SECRET).seal(SESSION_COOKIE, KIRAN, Date.now() + 60_000));
    const res = await browser.visit(`${h.bot.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Signed in as <strong>Kiran Patel</strong>');
  });
});

describe('who Sign in with GitLab admits', () => {
  /** Anyone can have an account on GITLAB_URL (all of gitlab.com by default). */
  const STRANGER = { username: 'mallory', name: 'Mallory Stranger', email: 'mallory@example.net' };
  const ONCALL = { username: 'sam.oncall', name: 'Sam Oncall', email: 'platform-oncall@example.com' };
  const POLICY = `
rules:
  - name: acme main
    projects: "acme/**"
    approvers:
      emails: ["Platform-Oncall@example.com"]
`;
  let h: Harness | null = null;
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await h?.stop();
    h = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const writePolicy = (yaml: string) => {
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  };
  const sessionOf = (browser: Browser) => new CookieSeal(SESSION_SECRET).open(SESSION_COOKIE, browser.cookies.get(SESSION_COOKIE), Date.now());

  it('turns away a GitLab account no rule names: 403, no session, and the list, history and audit stay closed', async () => {
    h = await startWithGitLabSignIn({}, { user: STRANGER });
    const id = (await h.receive(statusCheck({ title: 'Confidential: rotate the payments keys' }))).body.id as number;
    const browser = new Browser(h);

    const callback = await signIn(browser);
    expect(callback.status).toBe(403);
    const page = await callback.text();
    expect(page).toContain('Your GitLab account is not an approver here');
    expect(page).not.toContain('Confidential');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    for (const path of ['/', `/checks/${id}`, '/audit?format=json']) {
      const res = await browser.visit(`${h.bot.url}${path}`);
      expect(res.status, path).toBe(302);
      expect(res.headers.get('location'), path).toBe('/auth/login');
    }
  });

  it('admits a GitLab username named in GITLAB_APPROVERS whatever its case', async () => {
    h = await startWithGitLabSignIn({ GITLAB_APPROVERS: 'KPatel' });
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    expect((await browser.visit(`${h.bot.url}/`)).status).toBe(200);
  });

  it('admits someone a policy rule names by e-mail, once GitLab has confirmed that e-mail', async () => {
    h = await startWithGitLabSignIn({ GITLAB_APPROVERS: '', POLICY_FILE: writePolicy(POLICY) }, { user: ONCALL });
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    expect(sessionOf(browser)).toMatchObject({ username: ONCALL.username, email: ONCALL.email });
    const list = await browser.visit(`${h.bot.url}/`);
    expect(list.status).toBe(200);
    expect(await list.text()).toContain('Signed in as <strong>Sam Oncall</strong> (@sam.oncall)');
  });

  it('turns away the same e-mail when GitLab has not confirmed it: anyone can type any address into a new account', async () => {
    h = await startWithGitLabSignIn({ GITLAB_APPROVERS: '', POLICY_FILE: writePolicy(POLICY) }, { user: { ...ONCALL, confirmedAt: null } });
    const browser = new Browser(h);
    const callback = await signIn(browser);
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain('Your GitLab account is not an approver here');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('keeps the e-mail in the session only when GitLab has confirmed it', async () => {
    h = await startWithGitLabSignIn({}, { user: { ...KIRAN, confirmedAt: null } });
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    expect(sessionOf(browser)).toEqual({ ...KIRAN, email: null, userId: 4242, exp: expect.any(Number) });
  });

  it('ignores a session cookie of someone no rule names (sealed before the policy changed)', async () => {
    h = await startWithGitLabSignIn();
    const browser = new Browser(h);
    browser.cookies.set(SESSION_COOKIE, new CookieSeal(SESSION_SECRET).seal(SESSION_COOKIE, STRANGER, Date.now() + 60_000));
    const res = await browser.visit(`${h.bot.url}/`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/auth/login');
  });

  it('with a rule that names nobody, admits nobody and says so at start', async () => {
    const logFile = path.join(dir, 'bot.log');
    h = await startWithGitLabSignIn({ APPROVERS: '', GITLAB_APPROVERS: '' }, { logFile });
    const warnings = await vi.waitFor(
      () => {
        const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; rule?: string });
        const found = lines.filter((l) => l.level === 40 && l.msg.startsWith('Sign in with GitLab admits nobody'));
        if (found.length < 2) throw new Error('no warning about Sign in with GitLab yet');
        return found;
      },
      { timeout: 5000, interval: 20 },
    );
    expect(warnings).toEqual([
      expect.objectContaining({ rule: 'default', msg: expect.stringContaining('GITLAB_APPROVERS') }),
      expect.objectContaining({ msg: 'Sign in with GitLab admits nobody until GITLAB_APPROVERS or a policy rule (approvers.gitlab, approvers.emails) names people.' }),
    ]);
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(403);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });
});

describe('Sign in with GitLab next to WEB_USERS', () => {
  let h: Harness;
  let browser: Browser;
  beforeEach(async () => {
    h = await startWithGitLabSignIn({ WEB_USERS: `${WEB_USER.name}:${WEB_USER.password}` });
    browser = new Browser(h);
  });
  afterEach(async () => {
    await h.stop();
  });

  it('offers both ways in: a link to GitLab, and Basic', async () => {
    const res = await browser.visit(`${h.bot.url}/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="GitLab approvals"/);
    const html = await res.text();
    expect(html).toContain('<a class="sign-in" href="/auth/login">Sign in with GitLab</a>');
    expect(html).toContain('name and password you were given for this list');
    expect(html).not.toContain('WEB_USERS');
  });

  it('a WEB_USERS name still decides, without a Sign out button; a session wins over Basic', async () => {
    const id = (await h.receive()).body.id as number;
    const list = await browser.visit(`${h.bot.url}/`, { authorization: basic() });
    const html = await list.text();
    expect(html).toContain(`Signed in as <strong>${WEB_USER.name}</strong></p>`);
    expect(html).not.toContain('Sign out');
    const answer = await browser.visit(`${h.bot.url}/checks/${id}/approve`, { form: { csrf: csrfOf(html) }, authorization: basic() });
    expect(answer.status).toBe(303);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ decidedVia: 'web', decidedBy: WEB_USER.name });

    await signIn(browser);
    const both = await browser.visit(`${h.bot.url}/`, { authorization: basic() });
    expect(await both.text()).toContain('Signed in as <strong>Kiran Patel</strong> (@kpatel)');
  });

  it('a GitLab account that shares a WEB_USERS name is not let in by that name', async () => {
    h.gitlab.oauthUser = { username: WEB_USER.name, name: 'Somebody Else', email: 'somebody@example.net' };
    const callback = await signIn(browser);
    expect(callback.status).toBe(403);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('a CSRF token issued to a WEB_USERS name does not serve a GitLab session', async () => {
    const id = (await h.receive()).body.id as number;
    const basicCsrf = csrfOf(await (await browser.visit(`${h.bot.url}/`, { authorization: basic() })).text());
    await signIn(browser);
    const answer = await browser.visit(`${h.bot.url}/checks/${id}/approve`, { form: { csrf: basicCsrf } });
    expect(answer.status).toBe(403);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
  });
});

describe('Sign in with GitLab under a BASE_PATH', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startWithGitLabSignIn({ BASE_PATH: '/approval-apps' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('sends GitLab back to PUBLIC_URL + BASE_PATH and scopes the cookies to it', async () => {
    const browser = new Browser(h);
    const authorize = await startSignIn(browser);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/approval-apps/auth/callback`);
    const callback = await browser.visit((await authorizeAtGitLab(browser, authorize)).toString());
    expect(callback.headers.get('location')).toBe('/approval-apps/');
    expect(browser.setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))).toContain('; Path=/approval-apps;');
    const list = await browser.visit(`${h.bot.url}/`);
    const html = await list.text();
    expect(html).toContain('action="/approval-apps/auth/logout"');
    expect(html).not.toMatch(/(href|action)="\/(?!approval-apps)/);
  });
});

describe('configuration of Sign in with GitLab', () => {
  const minimal = minimalEnv;
  const problemsOf = configProblems;

  it('is off without a client ID and secret', () => {
    expect(loadConfig({ ...minimal, SESSION_SECRET }).oauth).toBeNull();
  });

  it('is on with both, PUBLIC_URL and a SESSION_SECRET; the redirect URI keeps BASE_PATH', () => {
    expect(loadConfig({ ...minimal, ...oauthEnv({ BASE_PATH: '/approval-apps' }) }).oauth).toEqual({
      clientId: app().clientId,
      clientSecret: app().clientSecret,
      sessionSecret: SESSION_SECRET,
      redirectUri: `${PUBLIC_URL}/approval-apps/auth/callback`,
    });
  });

  it.each([
    { name: 'the client ID alone', env: { GITLAB_OAUTH_CLIENT_SECRET: '' }, problem: /^GITLAB_OAUTH_CLIENT_SECRET is not set: copy the Secret/ },
    { name: 'the secret alone', env: { GITLAB_OAUTH_CLIENT_ID: '' }, problem: /^GITLAB_OAUTH_CLIENT_ID is not set: copy the Application ID/ },
    { name: 'a short SESSION_SECRET', env: { SESSION_SECRET: 'too-short' }, problem: /^SESSION_SECRET is too short: use 32 or more/ },
    { name: 'no SESSION_SECRET', env: { SESSION_SECRET: '' }, problem: /^SESSION_SECRET is not set/ },
    { name: 'no PUBLIC_URL', env: { PUBLIC_URL: undefined }, problem: /^PUBLIC_URL is not set: Sign in with GitLab/ },
  ])('names the problem with $name', ({ env, problem }: { env: NodeJS.ProcessEnv; problem: RegExp }) => {
    const problems = problemsOf({ ...minimal, ...oauthEnv(), ...env });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it('names every problem at once', () => {
    const problems = problemsOf({ ...minimal, GITLAB_OAUTH_CLIENT_ID: 'app-id', SESSION_SECRET: 'short' });
    expect(problems).toEqual([
      expect.stringMatching(/^SESSION_SECRET is too short/),
      expect.stringMatching(/^GITLAB_OAUTH_CLIENT_SECRET is not set/),
      expect.stringMatching(/^PUBLIC_URL is not set/),
    ]);
  });
});
