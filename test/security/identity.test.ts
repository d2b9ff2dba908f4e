import { afterEach, describe, expect, it } from 'vitest';
import { type Harness } from '../support/harness.js';
import { csrfOf } from '../support/web.js';
import { Browser, signIn, startWithGitLabSignIn } from '../support/gitlab-sign-in.js';

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
    expect(h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: 'kpatel' });
  });
});
