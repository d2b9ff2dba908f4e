import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitLab, sendStatusCheck } from '../../src/fakes/gitlab.js';
import { buttonClick, FakeSlack, sendInteraction } from '../../src/fakes/slack.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPROVER, basic, CHANNEL, SECOND_APPROVER, SECRETS, statusCheck, tempDir, testEnv } from '../support/harness.js';
import { csrfOf } from '../support/web.js';
import { eventually } from '../support/eventually.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';
import { BotProcesses, type BotProcess } from '../support/process.js';

const reports = (gitlab: FakeGitLab, iid: number) => gitlab.responses.filter((call) => call.path === `/api/v4/projects/42/merge_requests/${iid}/status_check_responses`);
const cardsOf = (slack: FakeSlack, checkId: number) =>
  slack.calls('chat.postMessage').filter((call) => JSON.stringify(call.body).includes(`"value":"${checkId}"`));

/**
 * Two bot processes on one PostgreSQL database, as two replicas behind a Service: GitLab's
 * calls and people's clicks land on either.
 */
describe.runIf(postgresReady)('two replicas on one PostgreSQL database', () => {
  const bots = new BotProcesses();
  let slack: FakeSlack;
  let gitlab: FakeGitLab;
  let url: string;
  let store: Store;
  let a: BotProcess;
  let b: BotProcess;

  const start = (extra: Record<string, string> = {}) => bots.start(testEnv(slack, gitlab, tempDir(), { DATABASE_URL: url, LOG_LEVEL: 'info', ...extra }));

  // One pair of replicas for the whole file (each test uses merge requests of its own): starting them is most of the time.
  beforeAll(async () => {
    slack = await FakeSlack.start(SECRETS.slackToken, [CHANNEL]);
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    url = await freshPostgres();
    // Both at once: migrations run under a lock, so the second waits and finds nothing to do.
    [a, b] = await Promise.all([start(), start()]);
    store = await openStore(url);
  });

  afterAll(async () => {
    await bots.killAll();
    await store?.close();
    await Promise.all([slack.close(), gitlab.close()]);
    await dropPostgres(url);
  });

  it('makes one check and one card when the same call reaches both at once, 40 times over', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const call = statusCheck({ iid: 500 + i });
        gitlab.track(call);
        return Promise.all([a, b].map((bot) => sendStatusCheck(`${bot.url}/status_check`, call, SECRETS.webhookSecret)));
      }),
    );
    for (const pair of answers) {
      expect(pair.map((answer) => answer.status).every((status) => status >= 200 && status < 300)).toBe(true);
      // Both replicas answer with the same check.
      expect(pair[0]!.body.id).toBe(pair[1]!.body.id);
    }
    const ids = answers.map((pair) => pair[0]!.body.id as number);
    expect(new Set(ids).size).toBe(40);
    await slack.waitFor('chat.postMessage', 40, () => true, 20_000);
    // The first test of the file: these are all the checks there are.
    expect(await store.countChecks({ states: null, q: null })).toBe(40);
    for (const id of ids) await eventually(`the card of check ${id} written down`, async () => (await store.getCheck(id))?.slackTs ?? undefined);
    for (const id of ids) expect(cardsOf(slack, id)).toHaveLength(1);
  });

  it('decides once and reports once when two approvers click at the same moment on different replicas', async () => {
    const checks: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const call = statusCheck({ iid: 700 + i });
      gitlab.track(call);
      const answer = await sendStatusCheck(`${a.url}/status_check`, call, SECRETS.webhookSecret);
      checks.push(answer.body.id as number);
    }
    await slack.waitFor('chat.postMessage', 10, () => true, 20_000);
    const click = (bot: BotProcess, user: string, id: number) =>
      sendInteraction(
        `${bot.url}/slack/events`,
        buttonClick({ userId: user, actionId: 'approve_check', value: String(id), channel: CHANNEL, responseUrl: slack.responseUrl(), triggerId: slack.triggerId() }),
        SECRETS.signingSecret,
      );
    await Promise.all(checks.flatMap((id) => [click(a, APPROVER, id), click(b, SECOND_APPROVER, id)]));
    for (const [i, id] of checks.entries()) {
      await eventually(`check ${id} reported`, async () => ((await store.getCheck(id))?.report === 'reported' ? true : undefined), 20_000);
      const check = (await store.getCheck(id))!;
      expect(check.state).toBe('approved');
      // One of the two decided; the other was told it was decided already, and counted nothing.
      expect((await store.decisionsOf(id)).filter((d) => d.outcome === 'approve')).toHaveLength(1);
      expect(reports(gitlab, 700 + i)).toHaveLength(1);
    }
  });

  it('takes a web-list form from one replica on the other: the CSRF key is the same on both', async () => {
    const call = statusCheck({ iid: 800 });
    gitlab.track(call);
    const id = (await sendStatusCheck(`${a.url}/status_check`, call, SECRETS.webhookSecret)).body.id as number;
    const page = await fetch(`${a.url}/`, { headers: { authorization: basic() } });
    const csrf = csrfOf(await page.text());
    const answer = await fetch(`${b.url}/checks/${id}/approve`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
      redirect: 'manual',
    });
    expect(answer.status).toBe(303);
    await eventually(`check ${id} reported`, async () => ((await store.getCheck(id))?.report === 'reported' ? true : undefined), 20_000);
    expect((await store.getCheck(id))?.decidedVia).toBe('web');
  });

  it('gives every check a replica accepted its card when that replica is killed mid-burst', async () => {
    // A short lease, so the survivor takes the dead replica's claimed deliveries over quickly.
    await bots.killAll();
    [a, b] = await Promise.all([start({ DELIVERY_LEASE_SECONDS: '5' }), start({ DELIVERY_LEASE_SECONDS: '5' })]);
    // Slack answers slowly: the replica is killed with deliveries claimed and in flight.
    slack.slow('chat.postMessage', 150);
    const accepted: number[] = [];
    let killed = false;
    const send = async (iid: number) => {
      const call = statusCheck({ iid });
      gitlab.track(call);
      try {
        const answer = await sendStatusCheck(`${a.url}/status_check`, call, SECRETS.webhookSecret);
        if (answer.status >= 200 && answer.status < 300) accepted.push(answer.body.id as number);
      } catch {
        // refused or cut by the kill: GitLab shows an error, and nothing was promised
      }
      if (accepted.length === 15 && !killed) {
        killed = true;
        a.child.kill('SIGKILL');
      }
    };
    for (let i = 0; i < 30; i += 3) await Promise.all([send(900 + i), send(901 + i), send(902 + i)]);
    await a.exited;
    expect(accepted.length).toBeGreaterThanOrEqual(15);
    // The survivor posts every card the dead replica had not, once its leases are over.
    for (const id of accepted) {
      await eventually(`the card of check ${id}`, async () => (await store.getCheck(id))?.slackTs ?? undefined, 30_000);
    }
    // The outbox drains: a check the dead replica took in without answering (not in
    // `accepted`) gets its card too, once that replica's lease on it is over.
    await eventually('an empty outbox', async () => ((await store.deliveryStats(Date.now())).pending === 0 ? true : undefined), 30_000);
    // At least once: a card posted by the dead replica but not yet written down is posted
    // again; its Slack lane had at most one delivery in flight when it died.
    const duplicates = accepted.reduce((n, id) => n + Math.max(0, cardsOf(slack, id).length - 1), 0);
    expect(duplicates).toBeLessThanOrEqual(1);
    for (const id of accepted) expect(cardsOf(slack, id).length).toBeGreaterThanOrEqual(1);
    // A kill, a lease to outwait and a backlog to drain on a busy machine: room beyond the waits above.
  }, 90_000);
});
