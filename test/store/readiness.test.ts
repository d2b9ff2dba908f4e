import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { APPROVER, basic, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { decideOnWeb } from '../support/web.js';

/** /readyz's answer once it is `status` (it is cached for up to a second). */
const readyzBecomes = (h: Harness, status: number) =>
  eventually(`/readyz ${status}`, async () => {
    const res = await fetch(`${h.bot.url}/readyz`);
    const body = (await res.json()) as { status: string; error?: string };
    return res.status === status ? body : undefined;
  });

describe('readiness when the database cannot be written', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('fails /readyz and answers the webhook 503 with nothing saved, then recovers', async () => {
    expect((await fetch(`${h.bot.url}/readyz`)).status).toBe(200);

    // Another process holds the write lock: every write of the bot fails after its busy timeout.
    const other = new Database(h.env.DATABASE_PATH!);
    other.exec('BEGIN IMMEDIATE');
    try {
      const ready = await readyzBecomes(h, 503);
      expect(ready.error).toMatch(/^The database cannot be written: another process holds the database's write lock/);
      expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200); // alive, just not ready

      const refused = await h.receive(statusCheck({ iid: 501 }));
      expect(refused.status).toBe(503);
      expect(refused.body.error).toContain('another process holds the database');
      expect(refused.body.error).toContain('press Retry on the check in GitLab');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await h.bot.store.checksOf(42, 501, 7)).toEqual([]);
    expect(h.slack.calls('chat.postMessage')).toEqual([]);

    // GitLab's Retry, once the database takes writes again.
    await readyzBecomes(h, 200);
    expect((await h.receive(statusCheck({ iid: 501 }))).status).toBe(202);
    await h.slack.waitFor('chat.postMessage');
  });

  it('decisions while the database refuses writes: 503 with a message, nothing recorded, and the same decision goes through later', async () => {
    const id = (await h.receive(statusCheck({ iid: 506 }))).body.id as number;
    await h.slack.waitFor('chat.postMessage');

    const other = new Database(h.env.DATABASE_PATH!);
    other.exec('BEGIN IMMEDIATE');
    try {
      const click = await h.click(APPROVER, 'approve_check', id);
      expect(click.status).toBe(503);
      expect(((await click.json()) as { error: string }).error).toMatch(/^The database cannot be written: .*Nothing was recorded; try again in a minute\.$/);
      const modal = await h.submitReject(APPROVER, id, 'not yet');
      expect(modal.status).toBe(503);
      const web = await decideOnWeb(h, id, 'reject', { reason: 'not yet' });
      expect(web.status).toBe(503);
      expect(web.html).toContain('Nothing was recorded');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(await h.bot.store.openRequests()).toEqual([]);

    expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);
    await h.gitlab.waitForResponses();
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved' });
  });

  it('a click taken in just before the database refused writes: its decision is recorded once writes work, without a restart', async () => {
    const id = (await h.receive(statusCheck({ iid: 507 }))).body.id as number;
    await h.slack.waitFor('chat.postMessage');

    // The four-eyes look-up of the approver's e-mail comes after the click is written down
    // and acknowledged; the lock is taken while Slack is slow to answer it.
    const lookup = h.slack.hold('users.info');
    const clicked = h.click(APPROVER, 'approve_check', id);
    await lookup.arrived;
    const other = new Database(h.env.DATABASE_PATH!);
    other.exec('BEGIN IMMEDIATE');
    try {
      expect((await clicked).status).toBe(200); // acknowledged: written down
      lookup.release();
      await h.bot.gate.settled(); // the decision was tried, and refused by the database
      await readyzBecomes(h, 503);
      expect((await h.bot.store.openRequests()).map((r) => r.checkId)).toEqual([id]);
      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }

    await h.gitlab.waitForResponses(1, 20_000);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved' });
    expect(await h.bot.store.openRequests()).toEqual([]);
    expect(h.gitlab.responses.map((r) => r.body.status)).toEqual(['passed']);
  });

  it('an error the bot does not expect: not ready, and the database’s own words stay out of the answer', async () => {
    // This test reads the bot's log: a bot of its own that writes one.
    await h.stop();
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'readiness-log-'));
    const logFile = path.join(logDir, 'bot.log');
    h = await startHarness({}, { logFile });
    const other = new Database(h.env.DATABASE_PATH!);
    try {
      // A write fails: readiness now proves writes with a real one, into `heartbeat`...
      other.exec('BEGIN IMMEDIATE');
      await readyzBecomes(h, 503);
      other.exec('ROLLBACK');
      // ...which the database refuses in words that name what readiness should not tell.
      for (const when of ['INSERT', 'UPDATE']) {
        other.exec(`CREATE TRIGGER refuse_${when.toLowerCase()} BEFORE ${when} ON heartbeat BEGIN SELECT RAISE(ABORT, 'host db.internal refused user approvals_owner'); END`);
      }
      const ready = await eventually('the unexpected error on /readyz', async () => {
        const res = await fetch(`${h.bot.url}/readyz`);
        const body = (await res.json()) as { error?: string };
        return res.status === 503 && body.error?.includes('does not expect') ? body : undefined;
      });
      expect(ready.error).toBe("The database cannot be written: it answered with an error the bot does not expect (SQLITE_CONSTRAINT_TRIGGER); the bot's log has it.");
      // The log has the database's own words, as the answer says.
      const logged = await eventually('the readiness error in the log', async () =>
        fs
          .readFileSync(logFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { level: number; msg: string; error?: string })
          .find((entry) => entry.msg === 'readiness: the database answered with an unexpected error'),
      );
      expect(logged).toMatchObject({ level: 50, error: 'host db.internal refused user approvals_owner' });
      for (const when of ['insert', 'update']) other.exec(`DROP TRIGGER refuse_${when}`);
      await readyzBecomes(h, 200);
    } finally {
      other.close();
      fs.rmSync(logDir, { recursive: true, force: true });
    }
  });

  it('a flood of readiness probes writes nothing and does not hold up a webhook', async () => {
    const other = new Database(h.env.DATABASE_PATH!, { readonly: true });
    try {
      const version = () => other.pragma('data_version', { simple: true }) as number;
      const before = version();
      const flood = Array.from({ length: 300 }, () => fetch(`${h.bot.url}/readyz`).then((r) => r.status));
      const started = Date.now();
      const webhook = await h.receive(statusCheck({ iid: 502 }));
      const webhookMs = Date.now() - started;
      expect((await Promise.all(flood)).every((s) => s === 200)).toBe(true);
      expect(webhook.status).toBe(202);
      expect(webhookMs, 'the webhook answered during the flood').toBeLessThan(10_000);
      await eventually('the card stored', async () => (await h.bot.store.getCheck(webhook.body.id as number))?.slackTs ?? undefined);

      // Only the webhook and its card changed the database: the probes wrote nothing.
      const afterWebhook = version();
      expect(afterWebhook).not.toBe(before);
      await Promise.all(Array.from({ length: 300 }, () => fetch(`${h.bot.url}/readyz`).then((r) => r.arrayBuffer())));
      expect(version()).toBe(afterWebhook);
    } finally {
      other.close();
    }
  });

  it('the database file deleted under the running bot: not ready, and webhooks are refused naming the problem', async () => {
    expect((await h.receive(statusCheck({ iid: 503 }))).status).toBe(202);
    await h.slack.waitFor('chat.postMessage');
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${h.env.DATABASE_PATH!}${suffix}`, { force: true });

    const ready = await readyzBecomes(h, 503);
    expect(ready.error).toContain('was deleted while the bot ran');
    const refused = await h.receive(statusCheck({ iid: 504 }));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toContain(`the database file ${h.env.DATABASE_PATH!} was deleted while the bot ran`);
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
    expect(h.slack.calls('chat.postMessage')).toHaveLength(1);

    // What is still open can be read (the web list shows the check), and a read that works
    // does not pass for a write that works: the bot stays not ready.
    const list = await fetch(`${h.bot.url}/`, { headers: { authorization: basic() } });
    expect(list.status).toBe(200);
    expect(await list.text()).toContain('!503');
    expect(h.bot.store.failing).toContain('was deleted while the bot ran');
    const still = await fetch(`${h.bot.url}/readyz`);
    expect(still.status).toBe(503);
    expect(((await still.json()) as { error: string }).error).toContain('was deleted while the bot ran');
  });

  it('the database file replaced under the running bot: not ready until restarted on the new file', async () => {
    const file = h.env.DATABASE_PATH!;
    fs.copyFileSync(file, `${file}.copy`);
    fs.renameSync(`${file}.copy`, file);

    const ready = await readyzBecomes(h, 503);
    expect(ready.error).toContain('was replaced while the bot ran');
    expect((await h.receive(statusCheck({ iid: 505 }))).status).toBe(503);

    await h.restart();
    await readyzBecomes(h, 200);
    expect((await h.receive(statusCheck({ iid: 505 }))).status).toBe(202);
  });
});
