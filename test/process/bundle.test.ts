import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitLab, sendStatusCheck } from '../../src/fakes/gitlab.js';
import { buttonClick, FakeSlack, sendInteraction } from '../../src/fakes/slack.js';
import { iidOf } from '../support/cards.js';
import { APPROVER, CHANNEL, SECRETS, statusCheck, tempDir, testEnv } from '../support/harness.js';
import { BotProcesses } from '../support/process.js';
import { FakeSocketMode } from '../../src/fakes/socket-mode.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHA = '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4'; // the fixture's commit

/**
 * What the image runs is dist/main.js as `npm run bundle` writes it: the bot and its libraries
 * in one file, so that start-up reads one file instead of hundreds. The other tests run the
 * TypeScript source; this one builds the bundle the same way (beside node_modules, where it
 * finds better-sqlite3, the one library left outside) and takes a check through it.
 */
describe('the bundled bot', () => {
  const bots = new BotProcesses();
  let buildDir: string;
  let bundle: string;
  let slack: FakeSlack;
  let gitlab: FakeGitLab;
  let dir: string;

  beforeAll(() => {
    const cache = path.join(repoRoot, 'node_modules', '.cache');
    fs.mkdirSync(cache, { recursive: true });
    buildDir = fs.mkdtempSync(path.join(cache, 'bundle-'));
    bundle = path.join(buildDir, 'main.js');
    execFileSync('npm', ['run', '--silent', 'bundle', '--', `--outdir=${buildDir}`], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  }, 120_000);

  afterAll(() => {
    fs.rmSync(buildDir, { recursive: true, force: true });
  });

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

  it('takes a status check call, posts its card, and reports the approval to GitLab', async () => {
    const bot = await bots.start(testEnv(slack, gitlab, dir, { LOG_LEVEL: 'info' }), 60_000, [bundle]);

    const call = statusCheck({ iid: 77 });
    gitlab.track(call);
    const answer = await sendStatusCheck(`${bot.url}/status_check`, call, SECRETS.webhookSecret);
    expect(answer.status).toBe(202);
    await slack.waitFor('chat.postMessage', 1, (c) => iidOf(c) === 77, 20_000);

    const click = buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(answer.body.id), channel: CHANNEL, responseUrl: slack.responseUrl('r77') });
    const acked = await sendInteraction(`${bot.url}/slack/events`, click, SECRETS.signingSecret);
    expect(acked.status).toBe(200);
    const [report] = await gitlab.waitForResponses(1, 20_000);
    expect(report?.path).toBe('/api/v4/projects/42/merge_requests/77/status_check_responses');
    expect(report?.body).toEqual({ sha: SHA, external_status_check_id: 7, status: 'passed' });

    const metrics = await fetch(`${bot.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^approval_decisions_total\{.*\} 1$/m);
  }, 90_000);

  it('in Socket Mode, connects at start and takes an approval over the socket', async () => {
    const socket = await FakeSocketMode.start();
    try {
      slack.acceptSocketMode('xapp-1-test', () => socket.linkUrl());
      const bot = await bots.start(testEnv(slack, gitlab, dir, { LOG_LEVEL: 'info', SLACK_APP_TOKEN: 'xapp-1-test', SLACK_SIGNING_SECRET: '' }), 60_000, [bundle]);
      expect(socket.connections.calls).toHaveLength(1);
      expect(await socket.ping('are you there')).toBe('are you there');

      const call = statusCheck({ iid: 79 });
      gitlab.track(call);
      const answer = await sendStatusCheck(`${bot.url}/status_check`, call, SECRETS.webhookSecret);
      expect(answer.status).toBe(202);
      await slack.waitFor('chat.postMessage', 1, (c) => iidOf(c) === 79, 20_000);
      const click = buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(answer.body.id), channel: CHANNEL, responseUrl: slack.responseUrl('r79'), triggerId: slack.triggerId() });
      const { envelope, ack } = await socket.deliver('interactive', click);
      expect(ack).toEqual({ envelope_id: envelope.envelope_id, payload: {} });
      const [report] = await gitlab.waitForResponses(1, 20_000);
      expect(report?.body).toEqual({ sha: SHA, external_status_check_id: 7, status: 'passed' });
    } finally {
      await bots.killAll();
      await socket.close();
    }
  }, 90_000);

  it('finds every library it leaves to node_modules from where it runs', () => {
    const files = [bundle, ...fs.readdirSync(path.join(buildDir, 'chunks')).filter((f) => f.endsWith('.js')).map((f) => path.join(buildDir, 'chunks', f))];
    // What the minified bundle asks for: require("x"), import("x"), import … from"x" and import"x".
    const named = /(?:__require\(|import\(|\bfrom|\bimport)"([@\w][\w./@:-]*)"/g;
    const left = new Set(files.flatMap((file) => [...fs.readFileSync(file, 'utf8').matchAll(named)].map((m) => m[1]!)));
    // pg-native: node-postgres's optional binding, which it asks for only when told to.
    const libraries = [...left].filter((name) => !name.startsWith('.') && !isBuiltin(name) && name !== 'pg-native').sort();
    expect(libraries).toEqual(expect.arrayContaining(['better-sqlite3', 'iconv-lite/encodings/tables/shiftjis.json', 'undici']));
    const requireFromBundle = createRequire(bundle);
    for (const name of libraries) expect(() => requireFromBundle.resolve(name), name).not.toThrow();
  });

  it('refuses a status check call whose signature is wrong, as the source does', async () => {
    const bot = await bots.start(testEnv(slack, gitlab, dir, { LOG_LEVEL: 'info' }), 60_000, [bundle]);
    const answer = await sendStatusCheck(`${bot.url}/status_check`, statusCheck({ iid: 78 }), 'not-the-shared-secret');
    expect(answer.status).toBe(401);
    expect(slack.calls('chat.postMessage')).toEqual([]);
  }, 90_000);
});
