import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitLab, sendStatusCheck } from '../../src/fakes/gitlab.js';
import { FakeSlack } from '../../src/fakes/slack.js';
import { CHANNEL, SECRETS, statusCheck, tempDir, testEnv } from '../support/harness.js';
import { BotProcesses } from '../support/process.js';

const MB = 1024 * 1024;

/** Peak resident memory of a process so far (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kb / 1024;
}

/** Posts `body` and resolves with the status, or 0 when the connection was cut (a refused upload may be). */
function post(url: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

describe('unauthenticated bodies cannot exhaust the bot’s memory', () => {
  const bots = new BotProcesses();
  let slack: FakeSlack;
  let gitlab: FakeGitLab;
  let dir: string;

  beforeEach(async () => {
    slack = await FakeSlack.start(SECRETS.slackToken, [CHANNEL]);
    gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    dir = tempDir();
  });
  afterEach(async () => {
    await bots.killAll();
    await Promise.all([slack.close(), gitlab.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('40 concurrent 24 MB bodies, unsigned or with a wrong signature, leave it under 400 MB and serving', { timeout: 180_000 }, async () => {
    const env = testEnv(slack, gitlab, dir, { LOG_LEVEL: 'info', ENV_FILE: path.join(dir, 'no-such.env') });
    const bot = await bots.start(env);
    const pid = bot.child.pid as number;
    const before = peakRssMb(pid);

    // One buffer shared by every request: the test's own memory stays small.
    const body = Buffer.alloc(24 * MB, 0x20);
    body.write('{"object_kind":"merge_request","x":"');
    const url = `${bot.url}/status_check`;
    const wrong = 'c'.repeat(64);
    const statuses = await Promise.all([
      ...Array.from({ length: 40 }, () => post(url, body, {})),
      ...Array.from({ length: 40 }, () => post(url, body, { 'x-gitlab-signature': wrong })),
    ]);

    const peak = peakRssMb(pid);
    console.info(`webhook memory: ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak after 80 bodies of 24 MB`);
    expect(peak).toBeLessThan(400);
    // Refused, each with a reason (a cut connection counts as refused, never as accepted).
    expect(statuses.filter((s) => s >= 200 && s < 300)).toEqual([]);
    expect(statuses.slice(0, 40).every((s) => s === 401 || s === 0)).toBe(true);
    expect(statuses.slice(40).every((s) => [401, 503, 0].includes(s))).toBe(true);

    // Still serving, and a real call gets in.
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    const payload = statusCheck();
    gitlab.track(payload);
    expect((await sendStatusCheck(url, payload, SECRETS.webhookSecret)).status).toBe(202);
    await slack.waitFor('chat.postMessage', 1, undefined, 20_000);
  });
});
