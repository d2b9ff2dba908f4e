import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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
    expect(config.slack.postPerSecond).toBe(1);
  });

  it('SLACK_POST_PER_SECOND: cards per second per channel, more than 0', () => {
    expect(loadConfig({ ...minimal, SLACK_POST_PER_SECOND: '0.5' }).slack.postPerSecond).toBe(0.5);
    for (const bad of ['0', '-1', 'fast']) {
      expect(problemsOf({ ...minimal, SLACK_POST_PER_SECOND: bad })).toEqual([expect.stringMatching(/^SLACK_POST_PER_SECOND must be (more than 0|a number)/)]);
    }
  });

  it('DATABASE_URL: a PostgreSQL URL that names a server, or unset for SQLite', () => {
    expect(loadConfig({ ...minimal, DATABASE_URL: 'postgresql://bot@db.example.com:5432/approvals' }).databaseUrl).toBe('postgresql://bot@db.example.com:5432/approvals');
    for (const bad of ['postgres://', 'postgres://bot@db /approvals', 'mysql://bot@db/approvals', '/data/approvals.db']) {
      expect(() => loadConfig({ ...minimal, DATABASE_URL: bad }), bad).toThrow(/DATABASE_URL must be a PostgreSQL URL/);
    }
  });

  it('reads lists and trims URLs', () => {
    const config = loadConfig({
      ...minimal,
      APPROVERS: 'U0AAA, S0GROUP ,W0BBB',
      WEB_USERS: 'alice:correct-horse,bob:pass:with:colons',
      GITLAB_URL: 'https://gitlab.acme.test/',
      PUBLIC_URL: 'https://approvals.example.com/',
      BASE_PATH: '/approval-apps',
    });
    expect(config.approvers).toEqual(['U0AAA', 'S0GROUP', 'W0BBB']);
    expect(config.webUsers).toEqual([
      { name: 'alice', password: 'correct-horse' },
      { name: 'bob', password: 'pass:with:colons' },
    ]);
    expect(config.gitlab.url).toBe('https://gitlab.acme.test');
    expect(config.publicUrl).toBe('https://approvals.example.com');
    expect(config.basePath).toBe('/approval-apps');
  });

  it('allows unsigned webhooks only when asked to, and Socket Mode instead of a signing secret', () => {
    const { GITLAB_WEBHOOK_SECRET: _s, SLACK_SIGNING_SECRET: _t, ...rest } = minimal;
    const config = loadConfig({ ...rest, ALLOW_UNSIGNED_WEBHOOKS: 'true', SLACK_APP_TOKEN: 'xapp-1-A0-1-abc' });
    expect(config.gitlab.webhookSecrets).toBeNull();
    expect(config.slack.appToken).toBe('xapp-1-A0-1-abc');
    expect(problemsOf({ ...rest, ALLOW_UNSIGNED_WEBHOOKS: 'false', SLACK_APP_TOKEN: 'xapp-1' })).toEqual([expect.stringMatching(/^GITLAB_WEBHOOK_SECRET is not set/)]);
  });

  it('the bot refuses to start without GITLAB_TOKEN, saying so on stderr', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        ENV_FILE: path.join(root, 'test', 'no-such-file.env'),
        SLACK_CHANNEL: 'C0TEAMCHAN',
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

describe('the placeholders shipped in k8s/base/configmap.yaml', () => {
  const shipped = (parse(fs.readFileSync(path.join(root, 'k8s', 'base', 'configmap.yaml'), 'utf8')) as { data: Record<string, string> }).data;

  it('stop the bot, naming every setting that still holds one', () => {
    const problems = problemsOf({ ...minimal, ...shipped });
    const placeholders = problems.filter((p) => p.includes('still holds the placeholder of k8s/base/configmap.yaml'));
    expect(placeholders.map((p) => p.split(' ')[0]).sort()).toEqual(['APPROVERS', 'GITLAB_URL', 'SLACK_CHANNEL']);
    expect(problems).toEqual(placeholders);
  });

  const oauth = { PUBLIC_URL: 'https://approvals.acme.test', SESSION_SECRET: 'x'.repeat(40), GITLAB_OAUTH_CLIENT_SECRET: 'gloas-1' };
  it.each([
    { name: 'SLACK_CHANNEL', value: 'C0123456789', with: {} },
    { name: 'APPROVERS', value: 'U0REALPERSON,U0123456789', with: {} },
    { name: 'GITLAB_URL', value: 'https://gitlab.example.com/', with: {} },
    { name: 'GITLAB_OAUTH_CLIENT_ID', value: '...', with: oauth },
  ])('$name=$value is refused', ({ name, value, with: others }) => {
    expect(problemsOf({ ...minimal, ...others, [name]: value })).toEqual([
      `${name} still holds the placeholder of k8s/base/configmap.yaml: set it to your own value (see the README's Configuration section)`,
    ]);
  });

  it('real values start the bot', () => {
    expect(() => loadConfig({ ...minimal, ...shipped, GITLAB_URL: 'https://gitlab.acme.test', SLACK_CHANNEL: 'C07QX3K9D2L', APPROVERS: 'U07QX3K9D2L' })).not.toThrow();
  });
});

describe('GitLab webhook secrets', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const secretsFile = (yaml: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-secrets-'));
    dirs.push(dir);
    const file = path.join(dir, 'secrets.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  };
  const { GITLAB_WEBHOOK_SECRET: _shared, ...unsigned } = minimal;

  it('GITLAB_WEBHOOK_SECRET takes several secrets, separated by commas', () => {
    expect(loadConfig({ ...minimal, GITLAB_WEBHOOK_SECRET: 'old-secret, new-secret' }).gitlab.webhookSecrets).toEqual({ shared: ['old-secret', 'new-secret'], perProject: [], file: null });
  });

  it('GITLAB_WEBHOOK_SECRETS_FILE alone satisfies the start-up requirement', () => {
    const file = secretsFile('- projects: acme/payments-*\n  secrets: [pay-old, pay-new]\n- projects: [acme/web, acme/docs]\n  secrets: [web-secret]\n');
    expect(loadConfig({ ...unsigned, GITLAB_WEBHOOK_SECRETS_FILE: file }).gitlab.webhookSecrets).toEqual({
      shared: [],
      perProject: [
        { projects: ['acme/payments-*'], secrets: ['pay-old', 'pay-new'] },
        { projects: ['acme/web', 'acme/docs'], secrets: ['web-secret'] },
      ],
      file,
    });
  });

  it.each([
    { yaml: '- projects: acme/*\n  secrets: []\n', problem: 'line 2: 0.secrets: must list at least one secret' },
    { yaml: '- projects: acme/*\n  secrets: [ok]\n- secrets: [x]\n', problem: 'line 3: 1.projects: must be a glob on path_with_namespace (acme/payments-*) or a list of them' },
    { yaml: '- projects: acme/*\n  secret: [hunter2]\n  secrets: [ok]\n', problem: 'line 2: 0.secret: is not a key of an entry (projects, secrets)' },
    { yaml: 'projects: acme/*\n', problem: 'line 1: file: must be a list of { projects, secrets } entries' },
    { yaml: '- projects: acme/*\n  secrets: [ok\n', problem: 'line 3:' },
  ])('a bad file is named with its line and key: $problem', ({ yaml, problem }) => {
    const file = secretsFile(yaml);
    const problems = problemsOf({ ...unsigned, GITLAB_WEBHOOK_SECRETS_FILE: file });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`GITLAB_WEBHOOK_SECRETS_FILE ${file} ${problem}`);
    expect(problems[0]).not.toContain('hunter2');
  });

  it('a file that cannot be read is named', () => {
    expect(problemsOf({ ...unsigned, GITLAB_WEBHOOK_SECRETS_FILE: '/no/such/secrets.yaml' })).toEqual([expect.stringMatching(/^GITLAB_WEBHOOK_SECRETS_FILE \/no\/such\/secrets\.yaml cannot be read: ENOENT/)]);
  });

  it('WEBHOOK_BUFFER_LIMIT must leave room for one body of the largest size', () => {
    expect(loadConfig(minimal).webhookBufferLimit).toBe(64 * 1024 * 1024);
    expect(problemsOf({ ...minimal, WEBHOOK_BUFFER_LIMIT: '30mb' })).toEqual([expect.stringMatching(/^WEBHOOK_BUFFER_LIMIT \(30mb\) is too small/)]);
  });
});
