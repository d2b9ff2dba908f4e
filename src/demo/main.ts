import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBot } from '../app.js';
import { loadConfig } from '../config.js';
import { FakeGitLab, sendStatusCheck } from '../fakes/gitlab.js';
import { FakeSlack } from '../fakes/slack.js';
import { createLogger } from '../logging.js';

/**
 * `npm run demo`: the bot against local stand-ins for GitLab and Slack, with one sample
 * status check waiting. Approve it on the web list and watch the GitLab call in the log.
 */
const DEMO = {
  gitlabToken: 'demo-gitlab-token',
  webhookSecret: 'demo-webhook-secret',
  slackToken: 'xoxb-demo',
  signingSecret: 'demo-signing-secret',
  channel: 'C0DEMO',
  user: 'demo',
  password: 'demo-password',
};

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const gitlab = await FakeGitLab.start(DEMO.gitlabToken, (call, status) => {
    say(`\n>>> GitLab received ${call.method} ${call.path} ${JSON.stringify(call.body)} -> ${status}\n`);
  });
  const slack = await FakeSlack.start(DEMO.slackToken, [DEMO.channel]);
  const port = process.env.PORT ?? '3000';
  // Each demo starts from nothing, so the sample check always waits for a decision. A folder
  // of its own, never DATABASE_PATH: in the image that is the real database.
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-demo-'));
  const database = path.join(folder, 'demo.db');
  const config = loadConfig({
    PORT: port,
    DATABASE_PATH: database,
    GITLAB_URL: gitlab.url,
    GITLAB_TOKEN: DEMO.gitlabToken,
    GITLAB_WEBHOOK_SECRET: DEMO.webhookSecret,
    SLACK_BOT_TOKEN: DEMO.slackToken,
    SLACK_SIGNING_SECRET: DEMO.signingSecret,
    SLACK_CHANNEL: DEMO.channel,
    SLACK_API_URL: slack.apiUrl,
    WEB_USERS: `${DEMO.user}:${DEMO.password}`,
    APPROVERS: 'U0DEMO',
    PUBLIC_URL: `http://localhost:${port}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  });
  const bot = await startBot(config, { log: createLogger(config.logLevel) });

  const sample = JSON.parse(fs.readFileSync(new URL('../../test/fixtures/status-check.json', import.meta.url), 'utf8')) as {
    object_attributes: { last_commit: { id: string } };
  };
  gitlab.track(sample);
  const answer = await sendStatusCheck(`${bot.url}/status_check`, sample, DEMO.webhookSecret);
  await slack.waitFor('chat.postMessage');

  const stop = async () => {
    await bot.stop();
    await Promise.all([gitlab.close(), slack.close()]);
    fs.rmSync(folder, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  say('');
  say('gitlab-approval-bot demo is running (Ctrl+C to stop).');
  say(`  A sample status check was received: HTTP ${answer.status} ${JSON.stringify(answer.body)}; its card was posted to the stand-in Slack.`);
  say(`  Web list:    http://localhost:${bot.port}/`);
  say(`  Sign in as:  ${DEMO.user} / ${DEMO.password}`);
  say('  Approve or reject the check there; the call the bot makes to GitLab is printed here, after ">>> GitLab received".');
  say(`  Metrics:     http://localhost:${bot.port}/metrics`);
  say(`  Database:    ${database} (removed when the demo stops)`);
  say('');
}

main().catch((error: Error) => {
  process.stderr.write(`The demo could not start: ${error.message}\n`);
  process.exit(1);
});
