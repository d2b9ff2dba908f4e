import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitLab, sendStatusCheck } from '../../src/fakes/gitlab.js';
import { buttonClick, FakeSlack, sendInteraction } from '../../src/fakes/slack.js';
import { openStore } from '../../src/store/store.js';
import { iidOf } from '../support/cards.js';
import { eventually } from '../support/eventually.js';
import { APPROVER, CHANNEL, SECRETS, statusCheck, tempDir, testEnv } from '../support/harness.js';
import { BotProcesses, type BotProcess } from '../support/process.js';
import { holdWriteLock } from '../support/write-lock.js';

/** Asks /healthz every 100 ms until stopped; the slowest answer (or failure) is what counts. */
function watchHealth(bot: BotProcess): { stop: () => Promise<{ slowestMs: number; failures: number; asked: number }> } {
  let running = true;
  let slowestMs = 0;
  let failures = 0;
  let asked = 0;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const res = await fetch(`${bot.url}/healthz`, { signal: AbortSignal.timeout(5000) });
        if (res.status !== 200) failures += 1;
        await res.arrayBuffer();
      } catch {
        failures += 1;
      }
      slowestMs = Math.max(slowestMs, Date.now() - started);
      asked += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { slowestMs, failures, asked };
    },
  };
}

/** The stored Slack timestamp of a merge request's card, read on a connection of the test's own. */
function cardTsOf(file: string, iid: number): string | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT slack_ts FROM status_check WHERE merge_request_iid = ?').get(iid) as { slack_ts: string | null } | undefined;
    return row?.slack_ts ?? undefined;
  } finally {
    db.close();
  }
}

/** A fresh, migrated database with no write-ahead log left over (opened and closed once). */
async function createDatabase(file: string): Promise<void> {
  await (await openStore(file)).close();
}

function canMountTmpfs(): boolean {
  const probe = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

describe('a database that refuses writes does not take the bot down', () => {
  const bots = new BotProcesses();
  let slack: FakeSlack;
  let gitlab: FakeGitLab;
  let dir: string;
  let cleanups: Array<() => void>;

  beforeEach(async () => {
    slack = await FakeSlack.start(SECRETS.slackToken, [CHANNEL]);
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    dir = tempDir();
    cleanups = [];
  });

  afterEach(async () => {
    await bots.killAll();
    await Promise.all([slack.close(), gitlab.close()]);
    for (const cleanup of cleanups.reverse()) cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const envFor = (databasePath: string) =>
    // A long request timeout: the card in flight is held at the stand-in Slack while the other
    // process starts, which may take seconds on a busy machine.
    testEnv(slack, gitlab, dir, { DATABASE_PATH: databasePath, LOG_LEVEL: 'info', ENV_FILE: path.join(dir, 'no-such.env'), REQUEST_TIMEOUT_MS: '30000' });
  const receive = (bot: BotProcess, iid: number) => sendStatusCheck(`${bot.url}/status_check`, statusCheck({ iid }), SECRETS.webhookSecret);
  const click = (bot: BotProcess, checkId: number) =>
    sendInteraction(
      `${bot.url}/slack/events`,
      buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(checkId), channel: CHANNEL, responseUrl: slack.responseUrl('r') }),
      SECRETS.signingSecret,
    );

  /**
   * The story both bad days share: a card is in flight when the database stops taking writes
   * (`breakWrites`), Slack accepts it meanwhile; webhooks and clicks are refused with 503, the
   * bot stays alive and /healthz fast; once writes work again (`mendWrites`) GitLab's retry is
   * taken and the card in flight was posted exactly once.
   */
  async function badDay(databasePath: string, breakWrites: () => Promise<void>, mendWrites: () => Promise<void>, expectedProblem: RegExp) {
    const bot = await bots.start(envFor(databasePath));
    const health = watchHealth(bot);

    const inFlight = slack.hold('chat.postMessage');
    const first = await receive(bot, 800);
    expect(first.status).toBe(202);
    const checkId = first.body.id as number;
    await inFlight.arrived;

    await breakWrites();
    inFlight.release(); // Slack posts the card; the bot cannot write its timestamp down
    await bot.logs.waitFor((l) => l.msg === 'the database refused a write: deliveries pause and resume when it takes writes again', 1, 10_000);

    const refused = await receive(bot, 801);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(expectedProblem);
    expect(refused.body.error).toContain('press Retry on the check in GitLab');
    const clicked = await click(bot, checkId);
    expect(clicked.status).toBe(503);
    expect(((await clicked.json()) as { error: string }).error).toMatch(/Nothing was recorded; try again/);
    const ready = await fetch(`${bot.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: string }).error).toMatch(expectedProblem);

    await mendWrites();
    // GitLab's Retry once the bot is ready again.
    await eventually('readiness after writes work again', async () => ((await fetch(`${bot.url}/readyz`)).status === 200 ? true : undefined), 20_000, 200);
    expect((await receive(bot, 801)).status).toBe(202);
    expect((await click(bot, checkId)).status).toBe(200);
    await slack.waitFor('chat.postMessage', 1, (c) => iidOf(c) === 801, 20_000);
    await gitlab.waitForResponses(1, 20_000);
    await eventually('the card in flight written down', () => cardTsOf(databasePath, 800), 20_000, 200);

    expect(slack.calls('chat.postMessage').filter((c) => iidOf(c) === 800), 'the card in flight, posted once').toHaveLength(1);
    expect(gitlab.responses.map((r) => r.body.status)).toEqual(['passed']);
    const { slowestMs, failures, asked } = await health.stop();
    expect(failures).toBe(0);
    expect(asked).toBeGreaterThan(10);
    expect(slowestMs, '/healthz slowest answer').toBeLessThan(1000);
    expect(bot.child.exitCode).toBeNull();
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toMatchObject({ code: 0 });
  }

  it('another process holds the write lock for 12 s: the bot stays up, answers 503 then 202, and posts the card in flight once', async () => {
    const file = path.join(dir, 'approvals.db');
    await createDatabase(file);
    let lock: { released: Promise<void> } | null = null;
    await badDay(
      file,
      async () => {
        lock = await holdWriteLock(file, 12_000);
      },
      async () => {
        await lock!.released;
      },
      /another process holds the database's write lock/,
    );
  }, 60_000);

  it.skipIf(!canMountTmpfs())('the disk fills up (a small tmpfs): the bot stays up, answers 503 then 202, and posts the card in flight once', async () => {
    const disk = path.join(dir, 'disk');
    fs.mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
    cleanups.push(() => execFileSync('umount', ['-l', disk]));
    const file = path.join(disk, 'approvals.db');
    await createDatabase(file);
    const filler = path.join(disk, 'filler');
    await badDay(
      file,
      async () => {
        // Every free block taken: the next page the database needs cannot be had.
        const fd = fs.openSync(filler, 'w');
        const block = Buffer.alloc(4096, 1);
        try {
          for (;;) fs.writeSync(fd, block);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        } finally {
          fs.closeSync(fd);
        }
      },
      async () => {
        fs.rmSync(filler);
      },
      /database or disk is full/,
    );
  }, 60_000);
});
