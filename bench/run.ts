/**
 * Benchmark: how fast the bot answers GitLab and delivers, and how much memory it holds.
 * Runs the built bot (dist/main.js) as a process of its own against the local GitLab and
 * Slack stand-ins on 127.0.0.1, with a real SQLite file, and reads its memory from /proc.
 * Usage: npm run bench [-- --checks 2000 --concurrency 20]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FakeGitLab, gitlabSignature } from '../src/fakes/gitlab.js';
import { buttonClick, FakeSlack, sendInteraction } from '../src/fakes/slack.js';

const { values } = parseArgs({
  options: { checks: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '20' } },
});
const CHECKS = Number(values.checks);
const CONCURRENCY = Number(values.concurrency);
const secrets = { gitlab: 'bench-token', webhook: 'bench-webhook-secret', slack: 'xoxb-bench', signing: 'bench-signing-secret' };

const sample = JSON.parse(fs.readFileSync(new URL('../test/fixtures/status-check.json', import.meta.url), 'utf8')) as {
  object_attributes: { iid: number; last_commit: { id: string }; description: string };
};

function payload(i: number, description = 'Benchmark'): string {
  const p = structuredClone(sample);
  p.object_attributes.iid = 10_000 + i;
  p.object_attributes.last_commit.id = i.toString(16).padStart(40, '0');
  p.object_attributes.description = description;
  return JSON.stringify(p);
}

async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bench-'));
  const slack = await FakeSlack.start(secrets.slack, ['C0BENCH']);
  const gitlab = await FakeGitLab.start(secrets.gitlab);
  const databasePath = path.join(dir, 'bench.db');
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      DATABASE_PATH: databasePath,
      GITLAB_URL: gitlab.url,
      GITLAB_TOKEN: secrets.gitlab,
      GITLAB_WEBHOOK_SECRET: secrets.webhook,
      SLACK_BOT_TOKEN: secrets.slack,
      SLACK_SIGNING_SECRET: secrets.signing,
      SLACK_CHANNEL: 'C0BENCH',
      SLACK_API_URL: slack.apiUrl,
      APPROVERS: 'U0BENCH',
      LOG_LEVEL: 'info',
      ENV_FILE: path.join(dir, 'none.env'),
      // The stand-in lists no merge requests: a sweep would measure nothing of interest.
      RECONCILE_INTERVAL_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.includes('is serving'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
      if (buffer.length > 1_000_000) buffer = buffer.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`the bot exited with ${code}`)));
  });
  child.stdout.resume();
  const bot = { url: `http://127.0.0.1:${port}` };
  /** Resident and peak memory of the bot process, from /proc (Linux). */
  const memoryOf = (pid: number) => {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  };
  const rssStart = memoryOf(child.pid!).rss;

  const send = async (body: string) => {
    // GitLab calls about a merge request at its HEAD: the stand-in knows it, and takes the report.
    gitlab.track(JSON.parse(body));
    const started = performance.now();
    const res = await fetch(`${bot.url}/status_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-signature': gitlabSignature(body, secrets.webhook) },
      body,
    });
    const json = (await res.json()) as { id: number };
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
    return { ms: performance.now() - started, id: json.id };
  };

  // 1. Webhooks: GitLab's calls, answered after the row and its card delivery are committed.
  const t0 = performance.now();
  const received = await pool(CHECKS, CONCURRENCY, (i) => send(payload(i)));
  const webhookSeconds = (performance.now() - t0) / 1000;
  await slack.waitFor('chat.postMessage', CHECKS, undefined, 600_000);
  const cardsSeconds = (performance.now() - t0) / 1000;
  const latencies = received.map((r) => r.ms).sort((a, b) => a - b);

  // 2. Decisions: approval clicks until every report reached GitLab.
  const decisions = Math.min(CHECKS, 500);
  const t1 = performance.now();
  await pool(decisions, CONCURRENCY, (i) =>
    sendInteraction(
      `${bot.url}/slack/events`,
      buttonClick({ userId: 'U0BENCH', actionId: 'approve_check', value: String(received[i]!.id), channel: 'C0BENCH', responseUrl: slack.responseUrl() }),
      secrets.signing,
    ),
  );
  await gitlab.waitForResponses(decisions, 600_000);
  const decisionSeconds = (performance.now() - t1) / 1000;

  // 3. A large call: a 5 MB merge request description.
  const big = await send(payload(CHECKS + 1, 'x'.repeat(5 * 1024 * 1024)));

  const memory = memoryOf(child.pid!);
  const rows = [
    ['status check calls', `${CHECKS} at concurrency ${CONCURRENCY}`],
    ['webhook throughput', `${(CHECKS / webhookSeconds).toFixed(0)} calls/s`],
    ['webhook latency p50 / p95 / p99', `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 95).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`],
    ['all cards posted after', `${cardsSeconds.toFixed(1)} s`],
    ['approvals reported to GitLab', `${decisions} in ${decisionSeconds.toFixed(1)} s (${(decisions / decisionSeconds).toFixed(0)}/s)`],
    ['5 MB status check call', `${big.ms.toFixed(0)} ms`],
    ['bot RSS at start / end / peak', `${mb(rssStart)} / ${mb(memory.rss)} / ${mb(memory.peak)}`],
    ['database file', mb(fs.statSync(databasePath).size)],
  ];
  console.log(`\nNode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); the bot in its own process, stand-ins and load in another\n`);
  console.log('| measure | result |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  await Promise.all([slack.close(), gitlab.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
