/**
 * Benchmark: how fast the bot answers GitLab and delivers, and how much memory it holds, on
 * SQLite and on PostgreSQL side by side. Runs the built bot (dist/main.js) as a process of its
 * own against the local GitLab and Slack stand-ins on 127.0.0.1, once on a real SQLite file and
 * once with DATABASE_URL on a PostgreSQL database, and reads its memory from /proc.
 * Usage: npm run bench [-- --checks 10000 --concurrency 20 --rows 1000000 --rate 500
 *   --store sqlite|postgres|both --postgres postgres://...]
 * `--rows N` first seeds the SQLite file with N checks and 5N audit events, so that the reads
 * (web list, history, /pending, /audit) are measured at that size; PostgreSQL gets the same
 * rows through the copy command's own code (copySqliteToPostgres), timed. Without
 * `--postgres`, a throwaway server is started and removed the way the tests do it (the URL
 * given must name an empty database). A bare node:http server, measured in the same run, is
 * the baseline for start-up, throughput, latency and memory.
 * `--only startup` measures start-up to first answer alone, `--runs` times for each bot and
 * the baseline in turn, and prints the medians (one start on a shared machine says little).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { FakeGitLab, gitlabSignature } from '../src/fakes/gitlab.js';
import { buttonClick, FakeSlack, sendCommand, sendInteraction } from '../src/fakes/slack.js';
import { copySqliteToPostgres } from '../src/store/copy.js';
import { isPostgresUrl } from '../src/store/engine.js';
import { seedDatabase, type Seeded } from '../src/store/seed.js';
import { startPostgres, type PostgresServer } from '../test/support/postgres-server.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '20' },
    rows: { type: 'string', default: '0' },
    rate: { type: 'string', default: '500' },
    runs: { type: 'string', default: '20' },
    only: { type: 'string' },
    store: { type: 'string', default: 'both' },
    postgres: { type: 'string' },
  },
});
if (values.only !== undefined && values.only !== 'startup') throw new Error(`--only ${values.only}: the only part that runs alone is "startup"`);
if (!['sqlite', 'postgres', 'both'].includes(values.store)) throw new Error(`--store ${values.store}: say sqlite, postgres or both`);
if (values.postgres !== undefined && !isPostgresUrl(values.postgres)) throw new Error('--postgres must be a PostgreSQL URL such as postgres://user@127.0.0.1:5432/bench');
const CHECKS = Number(values.checks);
const CONCURRENCY = Number(values.concurrency);
const ROWS = Number(values.rows);
/** Webhooks a second for the steady-rate latency, sent on a clock whatever the answers. */
const RATE = Number(values.rate);
const STEADY_SECONDS = 5;
/** How often each read is timed. */
const RUNS = Number(values.runs);

/** One column of the table: its figure for each row, by the row's label. */
type Figures = Map<string, string>;
const ROW = {
  seeded: 'seeded database',
  startup: 'start-up to first answer',
  throughput: 'webhook throughput',
  latency: 'webhook latency p50 / p95 / p99 at that throughput',
  steady: `webhook p50 / p99 at a steady ${RATE}/s`,
  steadyReads: `webhook p50 / p99 at a steady ${RATE}/s, web list reloaded meanwhile`,
  cpu: 'CPU per check, card included (bot)',
  serverCpu: 'CPU per check, PostgreSQL server',
  rss: `RSS after ${CHECKS} checks`,
  cards: 'all cards posted after',
  decisions: 'approvals reported to GitLab',
  big: '5 MB status check call',
  peak: 'bot RSS at start / end / peak',
  size: 'database size at the end',
} as const;

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

/**
 * Calls `task` RATE times a second for `seconds`, on the clock (open loop); the latencies of
 * the calls answered, sorted, and how many failed (refused, or no connection within undici's
 * 10 s): a bot that falls behind the clock shows it here instead of ending the run.
 */
async function steady(seconds: number, task: (i: number) => Promise<void>): Promise<{ latencies: number[]; failed: number; calls: number }> {
  const latencies: Promise<number | null>[] = [];
  const started = performance.now();
  for (let i = 0; i < seconds * RATE; i += 1) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    latencies.push(task(i).then(
      () => performance.now() - sent,
      () => null,
    ));
  }
  const all = await Promise.all(latencies);
  const answered = all.filter((l): l is number => l !== null).sort((a, b) => a - b);
  return { latencies: answered, failed: all.length - answered.length, calls: all.length };
}

/** p50 / p99 of a steady run, and its failures if any. */
function steadyFigure(run: { latencies: number[]; failed: number; calls: number }): string {
  const failed = run.failed > 0 ? ` (${run.failed} of ${run.calls} calls failed)` : '';
  return `${ms(percentile(run.latencies, 50))} / ${ms(percentile(run.latencies, 99))}${failed}`;
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

/** Cards a second the stand-in takes per channel, and the bot is told it may post. */
const SLACK_PACE = 1000;

/** A Slack stand-in that takes cards at SLACK_PACE. */
async function startSlack(): Promise<FakeSlack> {
  const slack = await FakeSlack.start(secrets.slack, ['C0BENCH']);
  slack.postLimit = { perSecond: SLACK_PACE, burst: SLACK_PACE };
  return slack;
}

/** The bots and baselines running now: a run that fails stops them, so none outlives it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// Interrupted: exit through 'exit', so the bots and a throwaway PostgreSQL server are stopped.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Starts a process that prints its port; resolves with the port and when it was spawned. */
async function startProcess(args: string[], env: NodeJS.ProcessEnv, portOf: (line: string) => number | null): Promise<{ child: ChildProcess; port: number; spawnedAt: number; exited: Promise<unknown> }> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  void exited.then(() => running.delete(child));
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

/** `npm start`'s arguments to node: the bot's file, and Node's settings before it. */
const startCommand = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').slice(1);
const nodeSettings = startCommand.filter((arg) => arg.startsWith('--'));

/** Starts the baseline, a bare node:http server that reads the body and answers 202 with a small JSON, in its own process like the bot, with the same settings of Node. */
async function startBaseline() {
  const started = await startProcess([...nodeSettings, '-e', baselineSource], process.env, (line) => Number(/port (\d+)/.exec(line)?.[1] ?? 0) || null);
  const url = `http://127.0.0.1:${started.port}/`;
  return { ...started, url, startupMs: await firstAnswer(url, started.spawnedAt, started.exited) };
}

/** The baseline's start-up to first answer, throughput, steady-rate latency and memory. */
async function baseline(body: string): Promise<Figures> {
  const { child, url, startupMs, exited } = await startBaseline();
  const post = async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
  };
  const t0 = performance.now();
  await pool(CHECKS, CONCURRENCY, post);
  const throughput = CHECKS / ((performance.now() - t0) / 1000);
  const rss = memoryOf(child.pid!).rss;
  const latencies = await steady(STEADY_SECONDS, post);
  child.kill('SIGTERM');
  await exited;
  return new Map([
    [ROW.startup, ms(startupMs)],
    [ROW.throughput, `${throughput.toFixed(0)} calls/s`],
    [ROW.steady, steadyFigure(latencies)],
    [ROW.rss, mb(rss)],
  ]);
}


/** A database for the bot: what it is called in the table and how the bot is told of it. */
interface Store {
  label: string;
  env: NodeJS.ProcessEnv;
  /** The database's size on disk, for the table. */
  size(): Promise<number>;
  /** CPU time, in ms, the database server has used so far; null when it cannot be read (not ours, or none). */
  serverCpuMs(): number | null;
}

function sqliteStore(file: string): Store {
  const size = (suffix: string) => (fs.existsSync(file + suffix) ? fs.statSync(file + suffix).size : 0);
  return { label: 'bot (SQLite)', env: { DATABASE_PATH: file }, size: () => Promise.resolve(size('') + size('-wal')), serverCpuMs: () => null };
}

function postgresStore(url: string, server: PostgresServer | null, dir: string): Store {
  return {
    label: 'bot (PostgreSQL)',
    // The file is not used when DATABASE_URL is set; it points into the run's own directory all the same.
    env: { DATABASE_URL: url, DATABASE_PATH: path.join(dir, 'unused.db') },
    async size() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const result = await client.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size');
        return Number(result.rows[0]?.size ?? 0);
      } finally {
        await client.end();
      }
    },
    serverCpuMs: () => (server ? postgresCpuMs(server) : null),
  };
}

/**
 * CPU time of a PostgreSQL server we started: the postmaster, the backends and helpers alive
 * now, and those that have exited (counted in the postmaster's children's times).
 */
function postgresCpuMs(server: PostgresServer): number | null {
  const pidFile = path.join(server.dir, 'data', 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return null;
  const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  const stat = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  const own = stat(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = stat(Number(entry));
      if (Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone meanwhile: its time is now in the postmaster's children's.
    }
  }
  return ticks * 10;
}

/** Starts the built bot on `store` against the stand-ins; resolves once /healthz answers. */
async function startTheBot(store: Store, dir: string, slack: FakeSlack, gitlab: FakeGitLab) {
  const started = await startProcess(
    // As `npm start` and the image start it: Node's settings included.
    startCommand,
    {
      PATH: process.env.PATH,
      PORT: '0',
      ...store.env,
      GITLAB_URL: gitlab.url,
      GITLAB_TOKEN: secrets.gitlab,
      GITLAB_WEBHOOK_SECRET: secrets.webhook,
      SLACK_BOT_TOKEN: secrets.slack,
      SLACK_SIGNING_SECRET: secrets.signing,
      SLACK_CHANNEL: 'C0BENCH',
      SLACK_API_URL: slack.apiUrl,
      APPROVERS: 'U0BENCH',
      // Slack's own pace (one card a second per channel) would measure Slack, not the bot: the stand-in takes them as fast as they come.
      SLACK_POST_PER_SECOND: String(SLACK_PACE),
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

/** `--only startup`: each bot and the baseline started `RUNS` times each, in turn; the medians. */
async function startupOnly(dir: string, stores: Store[], seeded: string): Promise<void> {
  const slack = await startSlack();
  const gitlab = await FakeGitLab.start(secrets.gitlab);
  const starts: Array<[string, () => Promise<{ child: ChildProcess; exited: Promise<unknown>; startupMs: number }>, number[]]> = [
    ...stores.map((store) => [store.label, () => startTheBot(store, dir, slack, gitlab), []] as [string, () => ReturnType<typeof startTheBot>, number[]]),
    ['bare node:http', startBaseline, []],
  ];
  for (let i = 0; i < RUNS; i += 1) {
    for (const [, start, times] of starts) {
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
  console.log(`| measure | ${starts.map(([label]) => label).join(' | ')} |\n|---|${starts.map(() => '---|').join('')}`);
  console.log(`| start-up to first answer | ${starts.map(([, , times]) => summary(times)).join(' | ')} |`);
  await Promise.all([slack.close(), gitlab.close()]);
}

/** Every figure of one bot on one store: calls, decisions, steady rate, memory and reads. */
async function measureBot(store: Store, dir: string, seeded: Seeded | null): Promise<Figures> {
  const figures: Figures = new Map();
  const slack = await startSlack();
  const gitlab = await FakeGitLab.start(secrets.gitlab);
  const started = await startTheBot(store, dir, slack, gitlab);
  const child = started.child;
  const bot = { url: started.url };
  figures.set(ROW.startup, ms(started.startupMs));
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
  const serverCpu0 = store.serverCpuMs();
  const t0 = performance.now();
  const received = await pool(CHECKS, CONCURRENCY, (i) => send(payload(i)));
  const webhookSeconds = (performance.now() - t0) / 1000;
  await slack.waitFor('chat.postMessage', CHECKS, undefined, 600_000);
  const cardsSeconds = (performance.now() - t0) / 1000;
  figures.set(ROW.cpu, `${((cpuMsOf(child.pid!) - cpu0) / CHECKS).toFixed(2)} ms`);
  const serverCpu1 = store.serverCpuMs();
  if (serverCpu0 !== null && serverCpu1 !== null) figures.set(ROW.serverCpu, `${((serverCpu1 - serverCpu0) / CHECKS).toFixed(2)} ms`);
  figures.set(ROW.rss, mb(memoryOf(child.pid!).rss));
  const latencies = received.map((r) => r.ms).sort((a, b) => a - b);
  figures.set(ROW.throughput, `${(CHECKS / webhookSeconds).toFixed(0)} calls/s`);
  figures.set(ROW.latency, `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 95).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`);
  figures.set(ROW.cards, `${cardsSeconds.toFixed(1)} s`);

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
  figures.set(ROW.decisions, `${decisions} in ${decisionSeconds.toFixed(1)} s (${(decisions / decisionSeconds).toFixed(0)}/s)`);

  // 3. A large call: a 5 MB merge request description.
  figures.set(ROW.big, `${(await send(payload(CHECKS + 1, 'x'.repeat(5 * 1024 * 1024)))).ms.toFixed(0)} ms`);

  // 4. Webhooks at a steady rate, alone and while the web list is reloaded over and over.
  let sent = CHECKS + 2;
  const steadyWebhook = () => send(payload(sent++)).then(() => undefined);
  const alone = await steady(STEADY_SECONDS, steadyWebhook);
  figures.set(ROW.steady, steadyFigure(alone));
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
  figures.set(ROW.steadyReads, steadyFigure(withReads));

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
  const reads: Array<[string, () => Promise<unknown>]> = [
    ['web list: front page', () => get('/')],
    ['web list: decided, first page', () => get('/?state=decided')],
    [`web list: decided, ${seeded ? 'a page in the middle' : 'second page'}`, () => get(laterPage)],
    ['history page of one check', () => get(`/checks/${oneCheck}`)],
    ['/audit for one check (JSON)', () => get(`/audit?check=${oneCheck}&format=json`)],
    ['/pending, until its list reaches Slack', pendingCommand],
  ];
  for (const [what, read] of reads) figures.set(`${what} (median / p99 of ${RUNS})`, await timed(RUNS, () => read().then(() => undefined)));

  const memory = memoryOf(child.pid!);
  figures.set(ROW.peak, `${mb(rssStart)} / ${mb(memory.rss)} / ${mb(memory.peak)}`);
  child.kill('SIGTERM');
  await started.exited;
  figures.set(ROW.size, mb(await store.size()));
  await Promise.all([slack.close(), gitlab.close()]);
  return figures;
}

/** PostgreSQL for the run: the server given, or a throwaway one; or why there is none. */
async function postgresForTheRun(): Promise<{ url: string; server: PostgresServer | null } | { missing: string }> {
  if (values.postgres !== undefined) return { url: values.postgres, server: null };
  const server = await startPostgres();
  if ('missing' in server) return server;
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE bench');
  } finally {
    await admin.end();
  }
  const url = new URL(server.adminUrl);
  url.pathname = '/bench';
  return { url: url.toString(), server };
}

/** Where the run is, on stderr (the table goes to stdout). */
const progress = (what: string) => process.stderr.write(`bench: ${what}\n`);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bench-'));
  const databasePath = path.join(dir, 'bench.db');
  let postgres: { url: string; server: PostgresServer | null } | null = null;
  try {
    let seeded: Seeded | null = null;
    const seededRow: Figures = new Map();
    if (ROWS > 0) {
      const t = performance.now();
      progress(`seeding SQLite with ${ROWS} checks`);
      seeded = await seedDatabase(databasePath, ROWS, new Date());
      const seconds = (performance.now() - t) / 1000;
      seededRow.set('bot (SQLite)', `${seeded.checks} checks, ${seeded.auditEvents} audit events, ${seeded.pending} pending (seeded in ${seconds.toFixed(0)} s; ${mb(fs.statSync(databasePath).size)})`);
    }
    const stores: Store[] = [];
    let missing: string | null = null;
    if (values.store !== 'postgres') stores.push(sqliteStore(databasePath));
    if (values.store !== 'sqlite') {
      const found = await postgresForTheRun();
      if ('missing' in found) {
        missing = found.missing;
        if (values.store === 'postgres') throw new Error(`--store postgres, but ${missing}: install PostgreSQL or pass --postgres <url>`);
      } else {
        postgres = found;
        const store = postgresStore(found.url, found.server, dir);
        if (seeded) {
          // The same rows, through the copy command's own code: a test of it at this size as well.
          progress('copying the seeded SQLite file to PostgreSQL');
          const t = performance.now();
          const copied = (await copySqliteToPostgres(databasePath, found.url)).reduce((sum, report) => sum + report.rows, 0);
          const seconds = (performance.now() - t) / 1000;
          seededRow.set(store.label, `the same, copied from the SQLite file (${copied} rows) in ${seconds.toFixed(0)} s (${mb(await store.size())})`);
        }
        stores.push(store);
      }
    }
    const seededText = seeded ? `${seeded.checks} checks, ${seeded.auditEvents} audit events` : 'none (--rows 0)';
    if (values.only === 'startup') {
      await startupOnly(dir, stores, `seeded database: ${seededText}`);
      if (missing) console.log(`\nNo PostgreSQL column: ${missing}.`);
      return;
    }

    const columns: Array<[string, Figures]> = [];
    for (const store of stores) {
      progress(`measuring the ${store.label}`);
      columns.push([store.label, await measureBot(store, dir, seeded)]);
    }
    progress('measuring the bare node:http baseline');
    columns.push(['bare node:http', await baseline(payload(0))]);
    for (const [label, figures] of columns) {
      const seededFigure = seededRow.get(label) ?? (label === 'bare node:http' ? '' : 'none (--rows 0)');
      if (seededFigure) figures.set(ROW.seeded, seededFigure);
    }

    // The figures the targets name first, then the reads, then the rest.
    const first: string[] = [ROW.seeded, ROW.startup, ROW.throughput, ROW.steady, ROW.steadyReads, ROW.cpu, ROW.serverCpu, ROW.rss];
    const reads = columns.flatMap(([, figures]) => [...figures.keys()]).filter((label) => label.includes('(median / p99'));
    const labels = [...new Set([...first, ...reads, ...columns.flatMap(([, figures]) => [...figures.keys()])])].filter((label) => columns.some(([, figures]) => figures.has(label)));
    console.log(`\nNode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); each bot in its own process, stand-ins and load in another; ${CHECKS} status check calls at concurrency ${CONCURRENCY}\n`);
    console.log(`| measure | ${columns.map(([label]) => label).join(' | ')} |\n|---|${columns.map(() => '---|').join('')}`);
    for (const label of labels) console.log(`| ${label} | ${columns.map(([, figures]) => figures.get(label) ?? '').join(' | ')} |`);
    if (missing) console.log(`\nNo PostgreSQL column: ${missing}.`);
  } finally {
    await postgres?.server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
