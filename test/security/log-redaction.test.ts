import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { gitlabSignature } from '../../src/fakes/gitlab.js';
import { buttonClick, rejectSubmission, slackHeaders } from '../../src/fakes/slack.js';
import { SESSION_COOKIE } from '../../src/web/session.js';
import { app, authorizeAtGitLab, Browser, SESSION_SECRET, startSignIn, startWithGitLabSignIn } from '../support/gitlab-sign-in.js';
import { APPROVER, basic, CHANNEL, SECRETS, startHarness, statusCheck, tempDir, WEB_USER, type Harness } from '../support/harness.js';
import { csrfOf } from '../support/web.js';

/*
 * A whole working day at debug level: checks arrive, people approve and reject in Slack and
 * on the web list, forged requests are refused. The log must tell that story without
 * carrying a single credential or signature.
 */
describe('the logs of a full run', () => {
  let h: Harness;
  let dir: string;
  let logFile: string;
  /** Every credential-bearing header value sent to the bot during the run. */
  const sentHeaderValues: string[] = [];

  beforeEach(async () => {
    dir = tempDir();
    logFile = path.join(dir, 'bot.log');
    h = await startHarness({ LOG_LEVEL: 'debug' }, { logFile });
  });
  afterEach(async () => {
    await h.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const receive = async (payload: unknown, signature?: string) => {
    const body = JSON.stringify(payload);
    h.gitlab.track(payload);
    const value = signature ?? gitlabSignature(body, SECRETS.webhookSecret);
    sentHeaderValues.push(value);
    return fetch(`${h.bot.url}/status_check`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-gitlab-signature': value }, body });
  };
  const toSlack = async (fields: Record<string, string>, signingSecret = SECRETS.signingSecret) => {
    const body = new URLSearchParams(fields).toString();
    const headers = slackHeaders(body, signingSecret);
    sentHeaderValues.push(headers['x-slack-signature'] as string);
    return fetch(`${h.bot.url}/slack/events`, { method: 'POST', headers, body });
  };
  const click = (action: 'approve_check' | 'reject_check', checkId: number, signingSecret?: string) =>
    toSlack(
      { payload: JSON.stringify(buttonClick({ userId: APPROVER, actionId: action, value: String(checkId), channel: CHANNEL, responseUrl: h.slack.responseUrl(), triggerId: h.slack.triggerId() })) },
      signingSecret,
    );
  const web = (url: string, authorization: string, init: RequestInit = {}) => {
    sentHeaderValues.push(authorization);
    return fetch(`${h.bot.url}${url}`, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), authorization } });
  };

  it('holds no token, secret, password or signature, and does record what happened', async () => {
    // Approved in Slack.
    const approved = (await (await receive(statusCheck())).json()) as { id: number };
    await h.slack.waitFor('chat.postMessage', 1);
    expect((await click('approve_check', approved.id)).status).toBe(200);
    await h.gitlab.waitForResponses(1);

    // Rejected in Slack, with a reason.
    const rejected = (await (await receive(statusCheck({ iid: 129 }))).json()) as { id: number };
    await h.slack.waitFor('chat.postMessage', 2);
    expect((await click('reject_check', rejected.id)).status).toBe(200);
    await h.slack.waitFor('views.open');
    const reason = { payload: JSON.stringify(rejectSubmission({ userId: APPROVER, checkId: rejected.id, reason: 'Needs a rollback plan' })) };
    expect((await toSlack(reason)).status).toBe(200);
    await h.gitlab.waitForResponses(2);

    // Approved on the web list, with the form's CSRF token.
    const onTheWeb = (await (await receive(statusCheck({ iid: 130 }))).json()) as { id: number };
    const page = await web('/', basic());
    expect(page.status).toBe(200);
    const csrf = csrfOf(await page.text());
    const decided = await web(`/checks/${onTheWeb.id}/approve`, basic(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    expect(decided.status).toBe(303);
    await h.gitlab.waitForResponses(3);

    // Refused: forged signatures and a wrong password.
    expect((await receive(statusCheck({ iid: 131 }), 'f'.repeat(64))).status).toBe(401);
    expect((await click('approve_check', approved.id, 'not-the-signing-secret')).status).toBe(401);
    const wrongPassword = 'wrong-horse-battery-staple';
    expect((await web('/', basic(WEB_USER.name, wrongPassword))).status).toBe(401);

    // /pending.
    const pending = await toSlack({ command: '/pending', text: '', user_id: APPROVER, user_name: 'approver', channel_id: CHANNEL, team_id: 'T0001', trigger_id: '1.2.3', response_url: h.slack.responseUrl('cmd'), token: 'x', api_app_id: 'A0001' });
    expect(pending.status).toBe(200);

    await h.slack.waitFor('chat.update', 3, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    await h.stop();
    // The log stream is written asynchronously: wait until the last line of the shutdown is in.
    const text = await vi.waitFor(
      () => {
        const content = fs.readFileSync(logFile, 'utf8');
        if (!content.includes('"msg":"stopped"')) throw new Error('the log does not end with "stopped" yet');
        return content;
      },
      { timeout: 5000, interval: 20 },
    );

    const lines = text.trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as { msg?: string; level: number });
    expect(entries.some((e) => e.level === 20), 'debug lines were written').toBe(true);
    const messages = new Set(entries.map((e) => e.msg));
    for (const expected of ['status check received', 'decision recorded', 'delivered']) expect(messages).toContain(expected);

    const secrets: Record<string, string> = {
      'GitLab token': SECRETS.gitlabToken,
      'GitLab webhook secret': SECRETS.webhookSecret,
      'Slack bot token': SECRETS.slackToken,
      'Slack signing secret': SECRETS.signingSecret,
      'web password': WEB_USER.password,
      'wrong web password': wrongPassword,
    };
    sentHeaderValues.forEach((value, i) => {
      secrets[`header value #${i + 1}`] = value;
      // Also as it would look once the scheme is dropped: the bare base64 or hex.
      secrets[`header value #${i + 1}, bare`] = value.replace(/^(Basic |v0=)/, '');
    });
    const leaks = Object.entries(secrets)
      .filter(([, value]) => text.includes(value))
      .map(([name]) => `${name} in: ${lines.find((line) => line.includes(secrets[name] as string))?.slice(0, 300)}`);
    expect(leaks).toEqual([]);
  });
});

/** The whole log once the bot has written its last line. */
async function finishedLog(logFile: string): Promise<string> {
  return vi.waitFor(
    () => {
      const content = fs.readFileSync(logFile, 'utf8');
      if (!content.includes('"msg":"stopped"')) throw new Error('the log does not end with "stopped" yet');
      return content;
    },
    { timeout: 5000, interval: 20 },
  );
}

/*
 * GitLab sends the browser back to /auth/callback?code=…&state=…: the code is worth an
 * access token to whoever holds it with the verifier, so it must not sit in the logs.
 */
describe('the logs of a Sign in with GitLab', () => {
  let h: Harness;
  let dir: string;
  let logFile: string;

  beforeEach(async () => {
    dir = tempDir();
    logFile = path.join(dir, 'bot.log');
    h = await startWithGitLabSignIn({}, { logFile });
  });
  afterEach(async () => {
    await h.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hold neither the OAuth code nor the state, and do record the sign-in', async () => {
    const browser = new Browser(h);
    const back = await authorizeAtGitLab(browser, await startSignIn(browser));
    const signedIn = await browser.visit(back.toString());
    expect(signedIn.status).toBe(302);
    // A second attempt whose answer is refused (a replayed code): its query must not be logged either.
    const again = await authorizeAtGitLab(browser, await startSignIn(browser));
    const replayed = new URL(again);
    replayed.searchParams.set('code', back.searchParams.get('code') as string);
    expect((await browser.visit(replayed.toString())).status).toBe(400);

    await h.stop();
    const text = await finishedLog(logFile);
    const lines = text.trim().split('\n');
    expect(text).toContain('signed in with GitLab');
    expect(lines.some((line) => line.includes('"url":"/auth/callback"')), 'the callback is logged, by its path').toBe(true);

    const secrets: Record<string, string> = {
      'OAuth code': back.searchParams.get('code') as string,
      'OAuth state': back.searchParams.get('state') as string,
      'second OAuth code': again.searchParams.get('code') as string,
      'second OAuth state': again.searchParams.get('state') as string,
      'OAuth client secret': app().clientSecret,
      'session secret': SESSION_SECRET,
      'session cookie': browser.cookies.get(SESSION_COOKIE) as string,
    };
    for (const [name, value] of Object.entries(secrets)) expect(value, name).toBeTruthy();
    const leaks = Object.entries(secrets)
      .filter(([, value]) => text.includes(value))
      .map(([name, value]) => `${name} in: ${lines.find((line) => line.includes(value))?.slice(0, 300)}`);
    expect(leaks).toEqual([]);
  });
});
