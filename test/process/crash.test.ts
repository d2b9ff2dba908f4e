import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckState } from '../../src/domain/check.js';
import { FakeGitLab, gitlabSignature, sendStatusCheck, type GitLabCall } from '../../src/fakes/gitlab.js';
import { Recorder } from '../../src/fakes/recorder.js';
import { buttonClick, FakeSlack, sendInteraction } from '../../src/fakes/slack.js';
import { openStore } from '../../src/store/store.js';
import { iidOf } from '../support/cards.js';
import { APPROVER, CHANNEL, SECRETS, statusCheck, tempDir, testEnv } from '../support/harness.js';
import { BotProcesses, type BotProcess } from '../support/process.js';

const SHA = '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4'; // the fixture's commit
const reportPath = (iid: number) => `/api/v4/projects/42/merge_requests/${iid}/status_check_responses`;
const slackDown = { status: 500, body: { ok: false, error: 'internal_error' } };
const gitlabDown = { status: 500, body: { message: '500 Internal Server Error' } };

/** What happened to one merge request of the load, as its sender saw it. */
interface Sent {
  iid: number;
  /** The check's id when the status check call was answered 2xx. */
  checkId: number | null;
  /** The Approve click: acknowledged (HTTP 200), or not. */
  click: 'acked' | 'not acked' | null;
}

/**
 * GitLab calls for `count` merge requests, `concurrency` at a time, each approved in Slack as
 * soon as the bot answered with the check's id. `onAccepted` hears every 2xx (to kill or stop
 * the bot part-way); `halted` stops sending more.
 */
async function sendAndApprove(
  bot: BotProcess,
  { slack, gitlab }: { slack: FakeSlack; gitlab: FakeGitLab },
  { count, concurrency, onAccepted, halted = () => false }: { count: number; concurrency: number; onAccepted: (n: number) => void; halted?: () => boolean },
): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  let accepted = 0;
  const one = async (iid: number): Promise<void> => {
    const s: Sent = { iid, checkId: null, click: null };
    sent.push(s);
    try {
      const call = statusCheck({ iid });
      gitlab.track(call);
      const answer = await sendStatusCheck(`${bot.url}/status_check`, call, SECRETS.webhookSecret);
      if (answer.status >= 200 && answer.status < 300) s.checkId = answer.body.id as number;
    } catch {
      // connection refused or cut: not accepted
    }
    if (s.checkId === null) return;
    accepted += 1;
    onAccepted(accepted);
    try {
      const click = buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(s.checkId), channel: CHANNEL, responseUrl: slack.responseUrl(`r${iid}`) });
      const res = await sendInteraction(`${bot.url}/slack/events`, click, SECRETS.signingSecret);
      await res.arrayBuffer();
      s.click = res.status === 200 ? 'acked' : 'not acked';
    } catch {
      s.click = 'not acked';
    }
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !halted()) await one(1000 + next++);
    }),
  );
  return sent;
}

/**
 * A status check call on a keep-alive connection that the bot has started to read (it
 * answered 100 Continue) but whose body is held back until `release` resolves.
 */
function heldStatusCheck(agent: http.Agent, url: string, iid: number, release: Promise<unknown>): { started: Promise<void>; answered: Promise<number> } {
  const body = Buffer.from(JSON.stringify(statusCheck({ iid })));
  let started!: () => void;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  const answered = new Promise<number>((resolve, reject) => {
    const req = http.request(`${url}/status_check`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        'x-gitlab-signature': gitlabSignature(body, SECRETS.webhookSecret),
        expect: '100-continue',
      },
    });
    req.on('continue', () => {
      started();
      void release.then(() => req.end(body));
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  return { started: startedP, answered };
}

/** A plain status check call on a given agent's connection. */
function statusCheckOn(agent: http.Agent, url: string, iid: number): Promise<number> {
  return heldStatusCheck(agent, url, iid, Promise.resolve()).answered;
}

/** The database as the bot left it (opened only while no bot runs). */
async function statesOf(databasePath: string, sent: Sent[]): Promise<{ states: Map<number, CheckState | null>; outbox: number }> {
  const store = await openStore(databasePath);
  try {
    const states = new Map<number, CheckState | null>();
    for (const s of sent) if (s.checkId !== null) states.set(s.iid, (await store.getCheck(s.checkId))?.state ?? null);
    return { states, outbox: (await store.deliveryStats(Date.now())).pending };
  } finally {
    await store.close();
  }
}

describe('a bot process that dies or is stopped loses nothing it acknowledged', () => {
  const bots = new BotProcesses();
  let slack: FakeSlack;
  let gitlab: FakeGitLab;
  /** GitLab's 201s only: decisions GitLab really has. */
  let reported: Recorder<GitLabCall>;
  let dir: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    slack = await FakeSlack.start(SECRETS.slackToken, [CHANNEL]);
    reported = new Recorder<GitLabCall>();
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken, (call, status) => {
      if (status === 201) reported.push(call);
    });
    dir = tempDir();
    env = testEnv(slack, gitlab, dir, { LOG_LEVEL: 'info', ENV_FILE: path.join(dir, 'no-such.env'), PORT: '0', SHUTDOWN_GRACE_MS: '4000' });
  });

  afterEach(async () => {
    await bots.killAll();
    await Promise.all([slack.close(), gitlab.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** After a restart: every accepted check gets a card, every recorded decision reaches GitLab. */
  async function everythingArrives(sent: Sent[], decided: number[]) {
    const accepted = sent.filter((s) => s.checkId !== null);
    await Promise.all(accepted.map((s) => slack.waitFor('chat.postMessage', 1, (c) => iidOf(c) === s.iid, 20_000)));
    await Promise.all(decided.map((iid) => reported.waitFor((c) => c.path === reportPath(iid), 1, 20_000)));
    const cards = (iid: number) => slack.calls('chat.postMessage').filter((c) => iidOf(c) === iid).length;
    const reports = (iid: number) => reported.calls.filter((c) => c.path === reportPath(iid));
    for (const iid of decided) expect(reports(iid).map((r) => r.body)).toEqual(reports(iid).map(() => ({ sha: SHA, external_status_check_id: 7, status: 'passed' })));
    return {
      duplicateCards: accepted.reduce((n, s) => n + cards(s.iid) - 1, 0),
      duplicateReports: decided.reduce((n, iid) => n + reports(iid).length - 1, 0),
    };
  }

  it('kill -9 in the middle of a burst: after a restart every accepted check has its card and every recorded decision reaches GitLab', async () => {
    let bot = await bots.start(env);
    // Slack and GitLab fail for a while, so cards and reports are still in the outbox when the bot dies.
    slack.queue('chat.postMessage', ...Array(25).fill(slackDown));
    gitlab.queue(...Array(10).fill(gitlabDown));

    let killed = false;
    const sent = await sendAndApprove(bot, { slack, gitlab }, {
      count: 60,
      concurrency: 6,
      halted: () => killed,
      onAccepted: (n) => {
        if (n === 30 && !killed) {
          killed = true;
          bot.child.kill('SIGKILL');
        }
      },
    });
    expect(await bot.exited).toMatchObject({ signal: 'SIGKILL' });

    // Acknowledged means stored: every 2xx check is in the database.
    const accepted = sent.filter((s) => s.checkId !== null);
    expect(accepted.length).toBeGreaterThanOrEqual(30);
    expect(accepted.length).toBeLessThan(60);
    const { states, outbox } = await statesOf(env.DATABASE_PATH!, sent);
    expect(outbox).toBeGreaterThan(0); // the kill did land with work still to deliver
    for (const s of accepted) expect(states.get(s.iid), `check of !${s.iid}`).toMatch(/^(pending|approved)$/);

    // A click is written down before Slack is told it arrived, so every acknowledged click is
    // decided, before the kill or after the restart, and its decision reaches GitLab.
    const decided = accepted.filter((s) => s.click === 'acked').map((s) => s.iid);
    expect(decided.length).toBeGreaterThan(0);
    const ackedNotRecorded = decided.filter((iid) => states.get(iid) !== 'approved');

    bot = await bots.start(env);
    const { duplicateCards, duplicateReports } = await everythingArrives(sent, decided);
    console.info(
      `kill -9: ${accepted.length} checks accepted, ${decided.length} decisions recorded, ` +
        `${ackedNotRecorded.length} acknowledged clicks not yet recorded, ${duplicateCards} duplicate cards, ${duplicateReports} repeated reports`,
    );

    bot.child.kill('SIGTERM');
    expect(await bot.exited).toMatchObject({ code: 0, signal: null });
  });

  it('SIGTERM under load: the bot finishes what it acknowledged, exits 0 in time, and a restart delivers the rest', async () => {
    let bot = await bots.start(env);
    slack.queue('chat.postMessage', ...Array(25).fill(slackDown));
    gitlab.queue(...Array(10).fill(gitlabDown));

    let terminatedAt = 0;
    // Webhooks keep coming after the signal, as they do while a load balancer catches up.
    const sent = await sendAndApprove(bot, { slack, gitlab }, {
      count: 80,
      concurrency: 6,
      onAccepted: (n) => {
        if (n === 25) {
          terminatedAt = Date.now();
          bot.child.kill('SIGTERM');
        }
      },
    });
    const exit = await bot.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - terminatedAt).toBeLessThan(Number(env.SHUTDOWN_GRACE_MS) + 2000);
    // Nothing was slow, so it did not need the whole grace: in-flight requests and deliveries finished.
    const [signalled] = await bot.logs.waitFor((l) => l.msg === 'signal received');
    const [stopped] = await bot.logs.waitFor((l) => l.msg === 'stopped');
    expect(stopped!.time! - signalled!.time!).toBeLessThan(Number(env.SHUTDOWN_GRACE_MS));
    expect(bot.logs.calls.filter((l) => (l.level ?? 0) >= 40 && String(l.msg).startsWith('deliveries still in flight at shutdown'))).toEqual([]);

    // A graceful stop waits for the decisions it acknowledged: every acknowledged click is recorded.
    const accepted = sent.filter((s) => s.checkId !== null);
    const { states } = await statesOf(env.DATABASE_PATH!, sent);
    for (const s of accepted) expect(states.get(s.iid), `check of !${s.iid}`).toMatch(/^(pending|approved)$/);
    for (const s of accepted.filter((a) => a.click === 'acked')) expect(states.get(s.iid), `decision on !${s.iid}`).toBe('approved');
    const decided = accepted.filter((s) => states.get(s.iid) === 'approved').map((s) => s.iid);

    bot = await bots.start(env);
    const { duplicateCards, duplicateReports } = await everythingArrives(sent, decided);
    // Deliveries in flight at the signal were finished, not cut off: nothing is sent twice.
    expect({ duplicateCards, duplicateReports }).toEqual({ duplicateCards: 0, duplicateReports: 0 });
    console.info(`SIGTERM: ${accepted.length} checks accepted, ${decided.length} decisions recorded, no duplicates`);

    bot.child.kill('SIGTERM');
    expect(await bot.exited).toMatchObject({ code: 0, signal: null });
  });

  it('SIGTERM while a keep-alive connection is busy: the connection is let go once answered, and the stop does not wait out the grace', async () => {
    const bot = await bots.start(env);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const shuttingDown = bot.logs.waitFor((l) => l.msg === 'shutting down: finishing requests and deliveries in flight');
      const held = heldStatusCheck(agent, bot.url, 700, shuttingDown);
      await held.started;
      bot.child.kill('SIGTERM');
      // The request in flight at the signal is finished and answered.
      expect(await held.answered).toBe(202);
      // The client reuses its connection, as proxies and load balancers do; once the bot lets
      // go of it this fails, and either way it cannot keep the bot from stopping.
      await statusCheckOn(agent, bot.url, 701).catch(() => 0);

      const exit = await bot.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      const [signalled] = await bot.logs.waitFor((l) => l.msg === 'signal received');
      const [stopped] = await bot.logs.waitFor((l) => l.msg === 'stopped');
      expect(stopped!.time! - signalled!.time!).toBeLessThan(Number(env.SHUTDOWN_GRACE_MS) / 2);
    } finally {
      agent.destroy();
    }
  });
});
