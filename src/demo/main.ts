import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBot } from '../app.js';
import { loadConfig } from '../config.js';
import { DEFAULT_AUTHOR, FakeGitLab, sendStatusCheck } from '../fakes/gitlab.js';
import { FakeSlack } from '../fakes/slack.js';
import { createLogger } from '../logging.js';
import sample from './sample-status-check.json' with { type: 'json' };
import { serveSlackView } from './slack-view.js';

/**
 * `npm run demo`: the bot against local stand-ins for GitLab and Slack, with one sample
 * status check waiting. Approve it in the stand-in Slack's view or on the web list and watch
 * the GitLab call in the log.
 */
const DEMO = {
  gitlabToken: 'demo-gitlab-token',
  webhookSecret: 'demo-webhook-secret',
  slackToken: 'xoxb-demo',
  signingSecret: 'demo-signing-secret',
  channel: 'C0DEMO',
  /** The Slack approver the demo's Slack view clicks as. */
  approver: 'U0DEMO',
  /** The sample merge request's author in Slack: they get a direct message on each decision. */
  author: 'U0DANA',
  user: 'demo',
  password: 'demo-password',
};

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const gitlab = await FakeGitLab.start(DEMO.gitlabToken, (call, status) => {
    say(`\n>>> GitLab received ${call.method} ${call.path} ${JSON.stringify(call.body)} -> ${status}\n`);
  });
  const slack = await FakeSlack.start(DEMO.slackToken, [DEMO.channel]);
  slack.addPerson(DEMO.author, DEFAULT_AUTHOR.email);
  const port = process.env.PORT ?? '3000';
  // Each demo starts from nothing, so the sample check always waits for a decision. A folder
  // of its own, never DATABASE_PATH: in the image that is the real database.
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-demo-'));
  const database = path.join(folder, 'demo.db');
  let bot: Awaited<ReturnType<typeof startBot>> | null = null;
  let slackView: Awaited<ReturnType<typeof serveSlackView>>;
  try {
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
      APPROVERS: DEMO.approver,
      PUBLIC_URL: `http://localhost:${port}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      // The stand-in lists no merge requests: a sweep would only log that it found nothing.
      RECONCILE_INTERVAL_SECONDS: '0',
    });
    bot = await startBot(config, { log: createLogger(config.logLevel) });
    slackView = await serveSlackView({
      slack,
      botEventsUrl: `${bot.url}/slack/events`,
      signingSecret: DEMO.signingSecret,
      channel: DEMO.channel,
      user: DEMO.approver,
      // Next to the bot's port; any free one when the bot's is chosen for it.
      port: port === '0' ? 0 : Number(port) + 1,
    });
  } catch (error) {
    // A demo that cannot start leaves nothing behind: no database, no open port.
    await bot?.stop();
    await Promise.all([gitlab.close(), slack.close()]);
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const running = bot;

  gitlab.track(sample);
  const answer = await sendStatusCheck(`${running.url}/status_check`, sample, DEMO.webhookSecret);
  await slack.waitFor('chat.postMessage');

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await slackView.close();
      await running.stop();
      await Promise.all([gitlab.close(), slack.close()]);
      fs.rmSync(folder, { recursive: true, force: true });
      process.exit(0);
    })();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  // Started by npm, the demo stops with it: when the parent goes (npm killed, a terminal
  // closed), nothing may keep the bot's port.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();

  say('');
  say('gitlab-approval-bot demo is running (Ctrl+C to stop).');
  say(`  A sample status check was received: HTTP ${answer.status} ${JSON.stringify(answer.body)}; its card was posted to the stand-in Slack.`);
  say(`  Slack view:  http://localhost:${slackView.port}/  (the cards, Home tab and messages Slack received; its buttons work)`);
  say(`  Web list:    http://localhost:${running.port}/`);
  say(`  Sign in as:  ${DEMO.user} / ${DEMO.password}`);
  say('  Approve or reject the check in either; the call the bot makes to GitLab is printed here, after ">>> GitLab received".');
  say(`  Another one: npm run demo:send -- http://localhost:${running.port}`);
  say(`  Metrics:     http://localhost:${running.port}/metrics`);
  say(`  Database:    ${database} (removed when the demo stops)`);
  say('');
}

/** A port someone else holds is the usual stumble on a first run: name it, and the way round it. */
function explain(error: Error & { code?: string; port?: number }): string {
  if (error.code !== 'EADDRINUSE') return error.message;
  const other = Number(process.env.PORT ?? '3000') + 100;
  return `port ${error.port ?? ''} is already in use (the bot takes PORT, the Slack view the port after it). Start the demo on other ports, such as PORT=${other} npm run demo, or stop what holds it.`;
}

main().catch((error: Error) => {
  process.stderr.write(`The demo could not start: ${explain(error)}\n`);
  process.exit(1);
});
