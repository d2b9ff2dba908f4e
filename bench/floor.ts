/**
 * The floor under the bot's CPU per check: what its required libraries cost per call on their
 * own, with no code of the bot's, on this machine. `npm run bench:floor`.
 * Each figure is the CPU time of this one process (client and server side by side), averaged
 * over many calls after a warm-up; the library's share is its figure less the bare one below it.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebClient } from '@slack/web-api';
import Database from 'better-sqlite3';
import express from 'express';
import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Tables } from '../src/store/schema.js';

const CALLS = 5000;

/** CPU milliseconds per call of `work`, after a warm-up. */
async function cpuPerCall(work: () => unknown): Promise<number> {
  for (let i = 0; i < 500; i += 1) await work();
  const before = process.cpuUsage();
  for (let i = 0; i < CALLS; i += 1) await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / CALLS;
}

async function listening(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A bare server's answer: the body read, a small JSON written. */
const bare: http.RequestListener = (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true,"channel":"C0FLOOR","ts":"1700000000.000100"}');
  });
};

/** GitLab's call as the bot gets it: the sample payload, POSTed over a kept-alive connection. */
function poster(port: number): () => Promise<void> {
  const body = fs.readFileSync(new URL('../test/fixtures/status-check.json', import.meta.url));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { 'content-type': 'application/json', 'content-length': body.length };
  return () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/status_check', agent, headers }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
}

const rows: Array<[string, number]> = [];

const plain = await listening(bare);
const bareCall = await cpuPerCall(poster(plain.port));
rows.push(['a bare node:http request and answer (both sides)', bareCall]);

const app = express();
app.use(pinoHttp({ logger: pino({ level: 'info' }, pino.destination({ dest: os.devNull, sync: false })) }));
app.use(express.json({ limit: '1mb' }));
app.post('/status_check', (_req, res) => {
  res.status(202).json({ id: 1 });
});
const expressed = await listening(app);
const expressCall = await cpuPerCall(poster(expressed.port));
rows.push(['  through Express, express.json and pino-http: added', expressCall - bareCall]);

const slack = new WebClient('xoxb-floor', { slackApiUrl: `http://127.0.0.1:${plain.port}/api/`, retryConfig: { retries: 0 } });
const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(400) } }];
const slackCall = await cpuPerCall(() => slack.chat.postMessage({ channel: 'C0FLOOR', text: 'A merge request waits', blocks }));
rows.push(["one chat.postMessage through Slack's client, to the bare server: added", slackCall - bareCall]);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-'));
const raw = new Database(path.join(dir, 'floor.db'));
raw.pragma('journal_mode = WAL');
raw.pragma('synchronous = FULL');
raw.exec('CREATE TABLE audit_event (id INTEGER PRIMARY KEY, at TEXT NOT NULL, check_id INTEGER, event TEXT NOT NULL, actor TEXT, via TEXT, sha TEXT, detail TEXT)');
const insert = raw.prepare('INSERT INTO audit_event (at, check_id, event, actor, via, sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
const commit = raw.transaction(() => insert.run(new Date().toISOString(), 1, 'received', null, 'gitlab', 'a'.repeat(40), null));
rows.push(['one SQLite transaction of one INSERT, synchronous = FULL', await cpuPerCall(commit)]);

// Built and compiled only, as Kysely documents for that: no connection behind it.
const db = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new SqliteIntrospector(kysely),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});
const build = () => [
  db.selectFrom('status_check').selectAll().where('id', '=', 1).compile(),
  db.insertInto('audit_event').values({ at: '2026-01-01T00:00:00.000Z', check_id: 1, event: 'received', actor: null, via: 'gitlab', sha: 'a'.repeat(40), detail: null }).compile(),
];
rows.push(['one query built and compiled by Kysely (mean of a read and a write)', (await cpuPerCall(build)) / 2]);

const [, added] = rows[1]!;
const [, posted] = rows[2]!;
const [, committed] = rows[3]!;
const [, compiled] = rows[4]!;
// Per check the bot serves one call and sends one post (a bare request's two sides between
// them), commits two transactions, and has Kysely build 12 statements (16 less BEGIN and
// COMMIT twice). Left out, so the floor is low if anything: the statements' own execution.
const floor = bareCall + added + posted + 2 * committed + 12 * compiled;
rows.push(['floor per check: a bare request, Express, one post, 2 commits, 12 queries', floor]);

console.log(`\nNode ${process.version}, ${os.cpus().length} CPUs; CPU per call, mean of ${CALLS}\n`);
console.log('| library work | CPU per call |\n|---|---|');
for (const [what, ms] of rows) console.log(`| ${what} | ${ms.toFixed(3)} ms |`);

raw.close();
fs.rmSync(dir, { recursive: true, force: true });
plain.server.close();
expressed.server.close();
process.exit(0);
