import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/web/session.js';
import { APPROVER, SECOND_APPROVER, statusCheck, type Harness } from '../support/harness.js';
import { csrfOf } from '../support/web.js';
import { Browser, KIRAN, signIn, startWithGitLabSignIn } from '../support/gitlab-sign-in.js';
import { nthPrivateReply, startWithPolicy, writePolicy } from '../support/policy.js';

describe('GitLab usernames are one name whatever their case', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.stop();
    h = null;
  });

  it('an approver named KPatel, signed in as kpatel, may see the list and decide on it', async () => {
    h = await startWithGitLabSignIn({ GITLAB_APPROVERS: 'KPatel' });
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    const id = (await h.receive()).body.id as number;
    const list = await browser.visit(`${h.bot.url}/`);
    expect(list.status).toBe(200);
    const answer = await browser.visit(`${h.bot.url}/checks/${id}/approve`, { form: { csrf: csrfOf(await list.text()) } });
    expect(answer.status, await answer.clone().text()).toBe(303);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: 'kpatel' });
  });
});

describe('one person, one vote: a person is an account, not an address', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.stop();
    h = null;
  });
  const TWO_PEOPLE = `rules:\n  - name: two people\n    approvers: { slack: [${APPROVER}, ${SECOND_APPROVER}], gitlab: [kpatel] }\n    required: 2\n`;

  it('a Slack account whose e-mail changed across a restart does not pass a quorum of 2 alone', async () => {
    h = await startWithPolicy(TWO_PEOPLE);
    h.slack.setEmail(APPROVER, 'sam@example.com');
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    expect(await nthPrivateReply(h, 1)).toContain('1 of 2');

    await h.restart();
    h.slack.setEmail(APPROVER, 'sam.new-name@example.com');
    await h.click(APPROVER, 'approve_check', id);
    expect(await nthPrivateReply(h, 2)).toContain('already');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    expect((await h.bot.store.getCheck(id))!.approvals).toHaveLength(1);
    expect(h.gitlab.responses).toEqual([]);

    // Someone else is the second person.
    await h.click(SECOND_APPROVER, 'approve_check', id);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed' });
  });

  it('a GitLab account whose e-mail changed between sign-ins counts once', async () => {
    h = await startWithGitLabSignIn({ POLICY_FILE: writePolicy(TWO_PEOPLE) });
    const id = (await h.receive()).body.id as number;
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    expect((await approveOnWeb(browser, id)).status).toBe(303);

    await h.restart();
    h.gitlab.oauthUser = { ...KIRAN, username: 'KPatel', email: 'kiran@new-employer.example' };
    expect((await signIn(browser)).status).toBe(302);
    const again = await approveOnWeb(browser, id);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('already');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    expect(h.gitlab.responses).toEqual([]);
  });

  it('a GitLab account renamed, with a new e-mail, is still one person: its user id stays', async () => {
    h = await startWithGitLabSignIn({ POLICY_FILE: writePolicy(TWO_PEOPLE.replace('gitlab: [kpatel]', 'gitlab: [kpatel, kiran.p]')) });
    const id = (await h.receive()).body.id as number;
    const browser = new Browser(h);
    h.gitlab.oauthUser = { ...KIRAN, id: 4242 };
    expect((await signIn(browser)).status).toBe(302);
    expect((await approveOnWeb(browser, id)).status).toBe(303);

    await h.restart();
    h.gitlab.oauthUser = { id: 4242, username: 'kiran.p', name: 'Kiran P.', email: 'kiran@new-employer.example' };
    expect((await signIn(browser)).status).toBe(302);
    const again = await approveOnWeb(browser, id);
    expect(again.status).toBe(409);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    expect(h.gitlab.responses).toEqual([]);
  });

  it('an e-mail a GitLab account showed when it signed in links it, even if it never voted with it', async () => {
    h = await startWithGitLabSignIn({ POLICY_FILE: writePolicy(TWO_PEOPLE) });
    const id = (await h.receive()).body.id as number;
    // Kiran approves in Slack with her work address, and signs in to the web list with it.
    h.slack.setEmail(APPROVER, KIRAN.email);
    await h.click(APPROVER, 'approve_check', id);
    expect(await nthPrivateReply(h, 1)).toContain('1 of 2');
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    // Her GitLab account's e-mail changes; signed in again, she approves on the web.
    await h.restart();
    h.gitlab.oauthUser = { ...KIRAN, email: 'kiran@home.example' };
    expect((await signIn(browser)).status).toBe(302);
    const again = await approveOnWeb(browser, id);
    expect(again.status).toBe(409);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    expect(h.gitlab.responses).toEqual([]);
  });

  it('a sign-in that cannot be recorded is refused with 503, and the next one works', async () => {
    h = await startWithGitLabSignIn({ POLICY_FILE: writePolicy(TWO_PEOPLE) });
    const browser = new Browser(h);
    // Another process holds the database's write lock.
    const other = new Database(h.env.DATABASE_PATH as string);
    try {
      other.exec('BEGIN EXCLUSIVE');
      const refused = await signIn(browser);
      expect(refused.status).toBe(503);
      expect(await refused.text()).toContain('cannot write to its database');
      expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    expect((await signIn(browser)).status).toBe(302);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);
  }, 60_000);

  it('two accounts that ever shared an e-mail are one person, even after it changed', async () => {
    h = await startWithGitLabSignIn({ POLICY_FILE: writePolicy(TWO_PEOPLE) });
    // Kiran approves one merge request in Slack while her Slack profile shows her work address …
    h.slack.setEmail(APPROVER, KIRAN.email);
    const first = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', first);
    expect(await nthPrivateReply(h, 1)).toContain('1 of 2');
    // … changes it, and after a restart approves another in Slack, and that one again on the
    // web with her GitLab account, which has the work address.
    await h.restart();
    h.slack.setEmail(APPROVER, 'kiran@home.example');
    const second = (await h.receive(statusCheck({ iid: 129 }))).body.id as number;
    await h.click(APPROVER, 'approve_check', second);
    expect(await nthPrivateReply(h, 2)).toContain('1 of 2');
    const browser = new Browser(h);
    expect((await signIn(browser)).status).toBe(302);
    const again = await approveOnWeb(browser, second);
    expect(again.status, await again.clone().text()).toBe(409);
    expect(await h.bot.store.getCheck(second)).toMatchObject({ state: 'pending' });
    expect(h.gitlab.responses).toEqual([]);
  });
});

async function approveOnWeb(browser: Browser, id: number): Promise<Response> {
  const list = await browser.visit(`${browser.h.bot.url}/`);
  expect(list.status).toBe(200);
  return browser.visit(`${browser.h.bot.url}/checks/${id}/approve`, { form: { csrf: csrfOf(await list.text()) } });
}
