/**
 * Benchmark: how fast the bot answers GitLab and delivers, and how much memory it holds.
 * Runs the built bot (dist/main.js) as a process of its own against the local GitLab and
 * Slack stand-ins on 127.0.0.1, with a real SQLite file, and reads its memory from /proc.
 * Usage: npm run bench [-- --checks 2000 --concurrency 20 --rows 1000000 --rate 200]
 * `--rows N` first seeds the database with N checks and 5N audit events, so that the reads
 * (web list, history, /pending, /audit) are measured at that size. A bare node:http server,
 * measured in the same run, is the baseline for start-up, latency and memory.
 * `--only startup` measures start-up to first answer alone, `--runs` times for the bot and
 * the baseline in turn, and prints the medians (one start on a shared machine says little).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FakeGitLab, gitlabSignature } from '../src/fakes/gitlab.js';
import { buttonClick, FakeSlack, sendCommand, sendInteraction } from '../src/fakes/slack.js';
import { seedDatabase, type Seeded } from '../src/store/seed.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '20' },
    rows: { type: 'string', default: '0' },
    rate: { type: 'string', default: '200' },
    runs: { type: 'string', default: '20' },
    only: { type: 'string' },
  },
});
if (values.only !== undefined && values.only !== 'startup') throw new Error(`--only ${values.only}: the only part that runs alone is "startup"`);
const CHECKS = Number(values.checks);
const CONCURRENCY = Number(values.concurrency);
const ROWS = Number(values.rows);
/** Webhooks a second for the steady-rate latency, sent on a clock whatever the answers. */
const RATE = Number(values.rate);
const STEADY_SECONDS = 5;
/** How often each read is timed. */
const RUNS = Number(values.runs);
const WEB = { name: 'bench', password: 'bench-password-123' };
const webAuth = `Basic ${Buffer.from(`${WEB.name}:${WEB.password}`).toString('base64')}`;
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
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Median and p99 of `runs` timings of `task` (one after another). */
async function timed(runs: number, task: () => Promise<void>): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return `${ms(percentile(times, 50))} / ${ms(percentile(times, 99))}`;
}

/** Calls `task` RATE times a second for `seconds`, on the clock (open loop); the latencies, sorted. */
async function steady(seconds: number, task: (i: number) => Promise<void>): Promise<number[]> {
  const latencies: Promise<number>[] = [];
  const started = performance.now();
  for (let i = 0; i < seconds * RATE; i += 1) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    latencies.push(task(i).then(() => performance.now() - sent));
  }
  return (await Promise.all(latencies)).sort((a, b) => a - b);
}

/** Resident and peak memory of a process, from /proc (Linux). */
function memoryOf(pid: number) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * CPU time a process has used, user and system, in ms: what process.cpuUsage() says inside
 * it, read from /proc/<pid>/stat from outside (in clock ticks of 10 ms).
 */
function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Polls `url` until it answers 2xx; the time from `since` to that answer. */
async function firstAnswer(url: string, since: number, exited: Promise<unknown>): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the process serving ${url} exited before it answered`);
    if (performance.now() - since > 120_000) throw new Error(`${url} did not answer within 2 minutes of the start`);
    try {
      if ((await fetch(url)).ok) return performance.now() - since;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Starts a process that prints its port; resolves with the port and when it was spawned. */
async function startProcess(args: string[], env: NodeJS.ProcessEnv, portOf: (line: string) => number | null): Promise<{ child: ChildProcess; port: number; spawnedAt: number; exited: Promise<unknown> }> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        const port = portOf(line);
        if (port !== null) resolve(port);
      }
      if (buffer.length > 1_000_000) buffer = buffer.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`the process exited with ${code}`)));
  });
  child.stdout!.resume();
  return { child, port, spawnedAt, exited };
}

const baselineSource = `require('node:http').createServer((req, res) => { const parts = []; req.on('data', (c) => parts.push(c)); req.on('end', () => { res.writeHead(202, { 'content-type': 'application/json' }); res.end('{"id":1}'); }); }).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });`;

/** Starts the baseline, a bare node:http server that reads the body and answers 202 with a small JSON, in its own process like the bot. */
async function startBaseline() {
  const started = await startProcess(['-e', baselineSource], process.env, (line) => Number(/port (\d+)/.exec(line)?.[1] ?? 0) || null);
  const url = `http://127.0.0.1:${started.port}/`;
  return { ...started, url, startupMs: await firstAnswer(url, started.spawnedAt, started.exited) };
}

/** The baseline's start-up to first answer, steady-rate p99 and memory. */
async function baseline(body: string): Promise<{ startupMs: number; p99: number; rss: number }> {
  const { child, url, startupMs, exited } = await startBaseline();
  const latencies = await steady(STEADY_SECONDS, async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
  });
  const rss = memoryOf(child.pid!).rss;
  child.kill('SIGTERM');
  await exited;
  return { startupMs, p99: percentile(latencies, 99), rss };
}

/** Starts the built bot on `databasePath` against the stand-ins; resolves once /healthz answers. */
async function startTheBot(databasePath: string, dir: string, slack: FakeSlack, gitlab: FakeGitLab) {
  const started = await startProcess(
    ['dist/main.js'],
    {
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
      WEB_USERS: `${WEB.name}:${WEB.password}`,
      LOG_LEVEL: 'info',
      ENV_FILE: path.join(dir, 'none.env'),
      // The stand-in lists no merge requests: a sweep would measure nothing of interest.
      RECONCILE_INTERVAL_SECONDS: '0',
    },
    (line) => (line.includes('is serving') ? (JSON.parse(line) as { port: number }).port : null),
  );
  const url = `http://127.0.0.1:${started.port}`;
  return { ...started, url, startupMs: await firstAnswer(`${url}/healthz`, started.spawnedAt, started.exited) };
}

/** `--only startup`: the bot and the baseline started `RUNS` times each, in turn; the medians. */
async function startupOnly(dir: string, databasePath: string, seeded: string): Promise<void> {
  const slack = await FakeSlack.start(secrets.slack, ['C0BENCH']);
  const gitlab = await FakeGitLab.start(secrets.gitlab);
  const bot: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    for (const [start, times] of [[() => startTheBot(databasePath, dir, slack, gitlab), bot], [startBaseline, bare]] as const) {
      const { child, exited, startupMs } = await start();
      times.push(startupMs);
      child.kill('SIGTERM');
      await exited;
    }
  }
  const summary = (times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    return `${ms(percentile(sorted, 50))} (${ms(sorted[0]!)} to ${ms(sorted.at(-1)!)})`;
  };
  console.log(`\nNode ${process.version}, ${os.cpus().length} CPUs; ${seeded}; start-up to first answer, median (fastest to slowest) of ${RUNS}\n`);
  console.log('| measure | bot (SQLite) | bare node:http |\n|---|---|---|');
  console.log(`| start-up to first answer | ${summary(bot)} | ${summary(bare)} |`);
  await Promise.all([slack.close(), gitlab.close()]);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bench-'));
  const databasePath = path.join(dir, 'bench.db');
  let seeded: Seeded | null = null;
  let seedSeconds = 0;
  if (ROWS > 0) {
    const t = performance.now();
    seeded = await seedDatabase(databasePath, ROWS, new Date());
    seedSeconds = (performance.now() - t) / 1000;
  }
  const seededDatabase = seeded ? `${seeded.checks} checks, ${seeded.auditEvents} audit events, ${seeded.pending} pending (in ${seedSeconds.toFixed(0)} s)` : 'none (--rows 0)';
  if (values.only === 'startup') {
    await startupOnly(dir, databasePath, `seeded database: ${seededDatabase}`);
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  const base = await baseline(payload(0));

  const slack = await FakeSlack.start(secrets.slack, ['C0BENCH']);
  const gitlab = await FakeGitLab.start(secrets.gitlab);
  const started = await startTheBot(databasePath, dir, slack, gitlab);
  const child = started.child;
  const bot = { url: started.url };
  const startupMs = started.startupMs;
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
  const cpu0 = cpuMsOf(child.pid!);
  const t0 = performance.now();
  const received = await pool(CHECKS, CONCURRENCY, (i) => send(payload(i)));
  const webhookSeconds = (performance.now() - t0) / 1000;
  await slack.waitFor('chat.postMessage', CHECKS, undefined, 600_000);
  const cardsSeconds = (performance.now() - t0) / 1000;
  const cpuPerCheck = (cpuMsOf(child.pid!) - cpu0) / CHECKS;
  const rssAfterChecks = memoryOf(child.pid!).rss;
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

  // 4. Webhooks at a steady rate, alone and while the web list is reloaded over and over.
  let sent = CHECKS + 2;
  const steadyWebhook = () => send(payload(sent++)).then(() => undefined);
  const alone = await steady(STEADY_SECONDS, steadyWebhook);
  const get = async (url: string) => {
    const res = await fetch(`${bot.url}${url}`, { headers: { authorization: webAuth } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 200)}`);
    return text;
  };
  let reading = true;
  const reader = (async () => {
    while (reading) await get('/?state=decided');
  })();
  const withReads = await steady(STEADY_SECONDS, steadyWebhook);
  reading = false;
  await reader;

  // 5. Reads: each page and answer people wait for, at the seeded size.
  const oneCheck = seeded?.middle.id ?? received[0]!.id;
  const firstPage = await get('/?state=decided');
  const nextHref = /<a rel="next" href="([^"]+)"/.exec(firstPage)?.[1]?.replace(/&amp;/g, '&');
  const laterPage = seeded ? `/?state=decided&after=${seeded.middle.updatedAt}_${seeded.middle.id}` : (nextHref ?? '/?state=decided');
  const pendingCommand = async () => {
    const before = slack.calls('response_url').length;
    const res = await sendCommand(
      `${bot.url}/slack/events`,
      { command: '/pending', text: '', user_id: 'U0BENCH', user_name: 'bench', channel_id: 'C0BENCH', team_id: 'T0001', trigger_id: '1.2.3', response_url: slack.responseUrl(), token: 'x', api_app_id: 'A0001' },
      secrets.signing,
    );
    if (res.status !== 200) throw new Error(`/pending answered ${res.status}`);
    await slack.waitFor('response_url', before + 1, undefined, 60_000);
  };
  const reads = [
    ['web list: front page', await timed(RUNS, () => get('/').then(() => undefined))],
    ['web list: decided, first page', await timed(RUNS, () => get('/?state=decided').then(() => undefined))],
    [`web list: decided, ${seeded ? 'a page in the middle' : 'second page'}`, await timed(RUNS, () => get(laterPage).then(() => undefined))],
    ['history page of one check', await timed(RUNS, () => get(`/checks/${oneCheck}`).then(() => undefined))],
    ['/audit for one check (JSON)', await timed(RUNS, () => get(`/audit?check=${oneCheck}&format=json`).then(() => undefined))],
    ['/pending, until its list reaches Slack', await timed(RUNS, pendingCommand)],
  ];

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
  const versus = [
    ['seeded database', seededDatabase, ''],
    ['start-up to first answer', ms(startupMs), ms(base.startupMs)],
    [`webhook p50 / p99 at ${RATE}/s`, `${ms(percentile(alone, 50))} / ${ms(percentile(alone, 99))}`, `p99 ${ms(base.p99)}`],
    [`webhook p50 / p99 at ${RATE}/s, web list reloaded meanwhile`, `${ms(percentile(withReads, 50))} / ${ms(percentile(withReads, 99))}`, ''],
    ['CPU per check, card included', `${cpuPerCheck.toFixed(2)} ms`, ''],
    [`RSS after ${CHECKS} checks`, mb(rssAfterChecks), `${mb(base.rss)} (after its steady run)`],
    ...reads.map(([what, result]) => [`${what} (median / p99 of ${RUNS})`, result, '']),
  ];
  console.log(`\nNode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); the bot in its own process, stand-ins and load in another\n`);
  console.log('| measure | result |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  console.log('\n| measure | bot (SQLite) | bare node:http |\n|---|---|---|');
  for (const [k, v, b] of versus) console.log(`| ${k} | ${v} | ${b} |`);

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
