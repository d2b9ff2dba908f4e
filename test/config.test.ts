import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { configProblems, minimalEnv } from './support/samples.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const minimal = minimalEnv;
const problemsOf = configProblems;

describe('configuration', () => {
  it('names every missing setting at once, each with what to do', () => {
    const problems = problemsOf({});
    const about = (name: string) => problems.find((p) => p.startsWith(`${name} is not set`));
    expect(about('GITLAB_TOKEN')).toMatch(/api scope/);
    expect(about('SLACK_BOT_TOKEN')).toMatch(/xoxb-/);
    expect(about('SLACK_CHANNEL')).toMatch(/Channel ID/);
    expect(about('GITLAB_WEBHOOK_SECRET')).toMatch(/ALLOW_UNSIGNED_WEBHOOKS=true/);
    expect(about('SLACK_SIGNING_SECRET')).toMatch(/SLACK_APP_TOKEN/);
    expect(problems).toHaveLength(5);
  });

  it('the error message lists the problems one per line', () => {
    let message = '';
    try {
      loadConfig({ ...minimal, GITLAB_TOKEN: '', SLACK_CHANNEL: '' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^The configuration is not valid:\n {2}- GITLAB_TOKEN is empty: .+\n {2}- SLACK_CHANNEL is empty: .+$/);
  });

  it.each([
    { name: 'SLACK_CHANNEL', value: '#general', problem: 'SLACK_CHANNEL must be a channel ID such as C0123456789, not a #name' },
    { name: 'APPROVERS', value: 'bob', problem: 'APPROVERS must list Slack user IDs (U…, W…) or user-group IDs (S…)' },
    { name: 'PORT', value: 'abc', problem: 'PORT must be a number' },
    { name: 'BASE_PATH', value: '/x/', problem: 'BASE_PATH must be empty or a path like /approval-apps (leading slash, no trailing slash)' },
    { name: 'SLACK_BOT_TOKEN', value: 'xoxp-user-token', problem: 'SLACK_BOT_TOKEN must be a bot token starting with xoxb-' },
    { name: 'WEB_USERS', value: 'alice:short', problem: 'WEB_USERS entries must be name:password with a password of 8 or more characters' },
    { name: 'GITLAB_URL', value: 'gitlab.example.com', problem: 'GITLAB_URL must be an http(s) URL such as https://gitlab.example.com' },
  ])('names a bad $name ($value)', ({ name, value, problem }) => {
    expect(problemsOf({ ...minimal, [name]: value })).toEqual([problem]);
  });

  it('reports bad values and missing ones together', () => {
    const problems = problemsOf({ SLACK_CHANNEL: '#general', APPROVERS: 'bob', PORT: 'abc', BASE_PATH: '/x/' });
    for (const name of ['SLACK_CHANNEL', 'APPROVERS', 'PORT', 'BASE_PATH', 'GITLAB_TOKEN', 'SLACK_BOT_TOKEN', 'GITLAB_WEBHOOK_SECRET', 'SLACK_SIGNING_SECRET']) {
      expect(problems.some((p) => p.startsWith(name)), `${name} in ${JSON.stringify(problems)}`).toBe(true);
    }
  });

  it('fills in defaults', () => {
    const config = loadConfig(minimal);
    expect(config.port).toBe(3000);
    expect(config.databasePath).toBe('./data/approvals.db');
    expect(config.gitlab.url).toBe('https://gitlab.com');
    expect(config.basePath).toBe('');
    expect(config.approvers).toEqual([]);
    expect(config.webUsers).toEqual([]);
    expect(config.draftCards).toBe('wait');
    expect(config.webhookBodyLimit).toBe('25mb');
    expect(config.slack.appToken).toBeNull();
  });

  it('reads lists and trims URLs', () => {
    const config = loadConfig({
      ...minimal,
      APPROVERS: 'U0AAA, S0GROUP ,W0BBB',
      WEB_USERS: 'alice:correct-horse,bob:pass:with:colons',
      GITLAB_URL: 'https://gitlab.example.com/',
      PUBLIC_URL: 'https://approvals.example.com/',
      BASE_PATH: '/approval-apps',
    });
    expect(config.approvers).toEqual(['U0AAA', 'S0GROUP', 'W0BBB']);
    expect(config.webUsers).toEqual([
      { name: 'alice', password: 'correct-horse' },
      { name: 'bob', password: 'pass:with:colons' },
    ]);
    expect(config.gitlab.url).toBe('https://gitlab.example.com');
    expect(config.publicUrl).toBe('https://approvals.example.com');
    expect(config.basePath).toBe('/approval-apps');
  });

  it('allows unsigned webhooks only when asked to, and Socket Mode instead of a signing secret', () => {
    const { GITLAB_WEBHOOK_SECRET: _s, SLACK_SIGNING_SECRET: _t, ...rest } = minimal;
    const config = loadConfig({ ...rest, ALLOW_UNSIGNED_WEBHOOKS: 'true', SLACK_APP_TOKEN: 'xapp-1-A0-1-abc' });
    expect(config.gitlab.webhookSecret).toBeNull();
    expect(config.slack.appToken).toBe('xapp-1-A0-1-abc');
    expect(problemsOf({ ...rest, ALLOW_UNSIGNED_WEBHOOKS: 'false', SLACK_APP_TOKEN: 'xapp-1' })).toEqual([expect.stringMatching(/^GITLAB_WEBHOOK_SECRET is not set/)]);
  });

  it('the bot refuses to start without GITLAB_TOKEN, saying so on stderr', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        ENV_FILE: path.join(root, 'test', 'no-such-file.env'),
        SLACK_CHANNEL: 'C0123456789',
        SLACK_BOT_TOKEN: 'xoxb-1-2-3',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(code).toBe(78);
    expect(stderr).toContain('The configuration is not valid');
    expect(stderr).toContain('GITLAB_TOKEN is not set');
    expect(stderr).toContain('GITLAB_WEBHOOK_SECRET is not set');
    expect(stderr).not.toContain('SLACK_CHANNEL');
  });
});
