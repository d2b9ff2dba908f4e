import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onPostgres } from './database.js';
import { dropPostgres, freshPostgres } from './postgres.js';
import { startBot, type RunningBot } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FakeGitLab, type FakeOAuthApp } from '../../src/fakes/gitlab.js';
import { FakeSlack } from '../../src/fakes/slack.js';
import { createLogger } from '../../src/logging.js';
import { buttonClick, rejectSubmission, sendCommand, sendInteraction, sendStatusCheck } from './requests.js';

export const SECRETS = {
  gitlabToken: 'glpat-test-token-0123456789',
  webhookSecret: 'webhook-shared-secret-for-tests',
  slackToken: 'xoxb-test-bot-token',
  signingSecret: 'slack-signing-secret-for-tests',
};
export const CHANNEL = 'C0APPROVALS';
export const APPROVER = 'U0APPROVER';
export const SECOND_APPROVER = 'U0SECOND';
export const OUTSIDER = 'U0OUTSIDER';
export const WEB_USER = { name: 'alice', password: 'correct-horse-battery' };

const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/status-check.json', import.meta.url), 'utf8')) as StatusCheckFixture;

export interface StatusCheckFixture {
  object_attributes: Record<string, unknown> & { iid: number; title: string; state: string; last_commit: { id: string } };
  project: { id: number };
  external_approval_rule: { id: number; name: string };
  [key: string]: unknown;
}

/** The sample status check call, with changes: a new title, SHA, state… */
export function statusCheck(changes: { title?: string; sha?: string; state?: string; iid?: number; draft?: boolean } = {}): StatusCheckFixture {
  const p = structuredClone(fixture);
  const mr = p.object_attributes;
  if (changes.title !== undefined) mr.title = changes.title;
  if (changes.sha !== undefined) mr.last_commit.id = changes.sha;
  if (changes.state !== undefined) mr.state = changes.state;
  if (changes.iid !== undefined) mr.iid = changes.iid;
  if (changes.draft !== undefined) mr.draft = changes.draft;
  return p;
}

export function sha(n: number): string {
  return n.toString(16).padStart(40, 'a');
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-'));
}

/**
 * Slack's pace for cards, sped up on both sides so that tests with many cards stay quick: the
 * bot posts 50 a second per channel and the stand-in takes as many (with a burst of five, so
 * a loaded test machine's jitter of a few tens of ms is not taken for a bot posting too fast).
 */
export const TEST_POST_PACE = { perSecond: 50, burst: 5 };

/** The environment a test bot runs with: fakes on 127.0.0.1, a temp database, quick retries, the test pace for cards. */
export function testEnv(slack: FakeSlack, gitlab: FakeGitLab, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PORT: '0',
    DATABASE_PATH: path.join(dir, 'approvals.db'),
    GITLAB_URL: gitlab.url,
    GITLAB_TOKEN: SECRETS.gitlabToken,
    GITLAB_WEBHOOK_SECRET: SECRETS.webhookSecret,
    SLACK_BOT_TOKEN: SECRETS.slackToken,
    SLACK_SIGNING_SECRET: SECRETS.signingSecret,
    SLACK_CHANNEL: CHANNEL,
    SLACK_API_URL: slack.apiUrl,
    APPROVERS: `${APPROVER},${SECOND_APPROVER}`,
    WEB_USERS: `${WEB_USER.name}:${WEB_USER.password}`,
    PUBLIC_URL: 'https://approvals.example.com',
    LOG_LEVEL: 'silent',
    DELIVERY_RETRY_BASE_MS: '20',
    DELIVERY_RETRY_MAX_MS: '200',
    REQUEST_TIMEOUT_MS: '2000',
    SHUTDOWN_GRACE_MS: '3000',
    // Off unless a test turns it on: a sweep's GitLab calls would show in every other test's fakes.
    RECONCILE_INTERVAL_SECONDS: '0',
    SLACK_POST_PER_SECOND: String(TEST_POST_PACE.perSecond),
    ...extra,
  };
  // The stand-in takes cards as fast as this bot posts them, and no faster.
  slack.postLimit = { ...TEST_POST_PACE, perSecond: Number(env.SLACK_POST_PER_SECOND) };
  return env;
}

export interface Harness {
  bot: RunningBot;
  slack: FakeSlack;
  gitlab: FakeGitLab;
  dir: string;
  env: Record<string, string>;
  /** Sends a signed status check call, as GitLab does about the merge request's HEAD (the fake GitLab's HEAD moves to its commit). */
  receive(payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A button click on the card of `checkId` by `userId`. */
  click(userId: string, action: 'approve_check' | 'reject_check', checkId: number, options?: { ephemeral?: boolean; responseUrl?: string }): Promise<Response>;
  submitReject(userId: string, checkId: number, reason: string | null): Promise<Response>;
  slashCommand(command: string, userId?: string, options?: { responseUrl?: string }): Promise<Response>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  logFile?: string;
  /** The GitLab application the fake GitLab signs people in for (Sign in with GitLab). */
  gitlabOAuth?: FakeOAuthApp;
  /** The channels the fake Slack has (and accepts cards in); just CHANNEL unless told. */
  channels?: string[];
  /** The GitLab version the fake GitLab behaves as (its current one unless told). */
  gitlabVersion?: string;
  /** Runs once the fakes are up, before the bot starts: for what the bot needs at start-up. */
  beforeStart?: (fakes: { slack: FakeSlack; gitlab: FakeGitLab }) => void | Promise<void>;
  /** The bot's clock (decisions, reminders, freezes); the real one unless told. */
  clock?: () => Date;
}

export async function startHarness(extra: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const slack = await FakeSlack.start(SECRETS.slackToken, options.channels ?? [CHANNEL]);
  const gitlab = await FakeGitLab.start(SECRETS.gitlabToken, undefined, options.gitlabOAuth ?? null, { version: options.gitlabVersion });
  const dir = tempDir();
  const env = testEnv(slack, gitlab, dir, extra);
  // The postgres project runs the same stories on a database of their own.
  if (onPostgres && !env.DATABASE_URL) env.DATABASE_URL = await freshPostgres({ schema: true });
  await options.beforeStart?.({ slack, gitlab });
  const launch = () => {
    const config = loadConfig(env);
    const log = options.logFile ? createLogger('debug', fs.createWriteStream(options.logFile, { flags: 'a' })) : createLogger('silent');
    return startBot(config, { log, host: '127.0.0.1', clock: options.clock });
  };
  const h: Harness = {
    bot: await launch(),
    slack,
    gitlab,
    dir,
    env,
    receive: (payload = statusCheck()) => {
      gitlab.track(payload);
      return sendStatusCheck(`${h.bot.url}/status_check`, payload, SECRETS.webhookSecret);
    },
    click: (userId, action, checkId, o = {}) =>
      sendInteraction(
        `${h.bot.url}/slack/events`,
        buttonClick({
          userId,
          actionId: action,
          value: String(checkId),
          channel: CHANNEL,
          responseUrl: o.responseUrl ?? slack.responseUrl(),
          ephemeral: o.ephemeral,
          triggerId: slack.triggerId(),
        }),
        SECRETS.signingSecret,
      ),
    submitReject: (userId, checkId, reason) =>
      sendInteraction(`${h.bot.url}/slack/events`, rejectSubmission({ userId, checkId, reason }), SECRETS.signingSecret),
    slashCommand: (command, userId = APPROVER, o = {}) =>
      sendCommand(
        `${h.bot.url}/slack/events`,
        { command, text: '', user_id: userId, user_name: userId.toLowerCase(), channel_id: CHANNEL, team_id: 'T0001', trigger_id: slack.triggerId(), response_url: o.responseUrl ?? slack.responseUrl(), token: 'x', api_app_id: 'A0001' },
        SECRETS.signingSecret,
      ),
    restart: async () => {
      await h.bot.stop();
      h.bot = await launch();
    },
    stop: async () => {
      await h.bot.stop();
      await Promise.all([slack.close(), gitlab.close()]);
      if (onPostgres && env.DATABASE_URL) await dropPostgres(env.DATABASE_URL);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/**
 * Types `/pending` as `userId`: Slack's request is acknowledged with an empty answer, and the
 * list follows through the command's response_url. Resolves with what was posted there.
 */
export async function pendingAnswer(h: Harness, userId = APPROVER): Promise<Record<string, unknown>> {
  const responseUrl = h.slack.responseUrl();
  const res = await h.slashCommand('/pending', userId, { responseUrl });
  if (res.status !== 200) throw new Error(`/pending was answered ${res.status}: ${await res.text()}`);
  const path = new URL(responseUrl).pathname;
  const [answer] = await h.slack.waitFor('response_url', 1, (c) => c.path === path);
  return answer!.body;
}

/** Basic credentials for the web list. */
export function basic(user = WEB_USER.name, password = WEB_USER.password): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
