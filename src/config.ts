import fs from 'node:fs';
import * as z from 'zod';
import { sizeInBytes } from './gitlab/body.js';
import { parseSecretsFile, SecretsFileError, type WebhookSecrets } from './gitlab/secrets.js';
import { isPostgresUrl } from './store/engine.js';

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const flag = (name: string) =>
  z
    .enum(['true', 'false', '1', '0', ''], { error: `${name} must be true or false` })
    .optional()
    .transform((v) => v === 'true' || v === '1');

const required = (name: string, how: string) =>
  z
    .string({ error: `${name} is not set: ${how}` })
    .trim()
    // abort: an empty value is one problem, not also "must start with xoxb-".
    .min(1, { error: `${name} is empty: ${how}`, abort: true });

const ms = (name: string, fallback: number) =>
  z.coerce.number({ error: `${name} must be a number of milliseconds` }).int().min(0).default(fallback);

const schema = z
  .object({
    PORT: z.coerce.number({ error: 'PORT must be a number' }).int().min(0).max(65535).default(3000),
    METRICS_PORT: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.coerce
        .number({ error: 'METRICS_PORT must be a port number' })
        .int({ error: 'METRICS_PORT must be a port number' })
        .min(0, { error: 'METRICS_PORT must be a port number' })
        .max(65535, { error: 'METRICS_PORT must be a port number (at most 65535)' })
        .optional()
        .transform((v) => v ?? null),
    ),
    BASE_PATH: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'BASE_PATH must be empty or a path like /approval-apps (leading slash, no trailing slash)')
      .default(''),
    DATABASE_PATH: z.string().trim().min(1).default('./data/approvals.db'),
    // PostgreSQL for several replicas; unset: the SQLite file at DATABASE_PATH.
    DATABASE_URL: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : null))
      .refine((v) => v === null || (isPostgresUrl(v) && /^\S+:\/\/\S+$/.test(v)), 'DATABASE_URL must be a PostgreSQL URL such as postgres://bot:password@db.example.com:5432/approvals?sslmode=verify-full (leave it unset for SQLite at DATABASE_PATH)'),
    DELIVERY_LEASE_SECONDS: z.coerce
      .number({ error: 'DELIVERY_LEASE_SECONDS must be a number of seconds' })
      .int({ error: 'DELIVERY_LEASE_SECONDS must be a whole number of seconds' })
      .min(5, { error: 'DELIVERY_LEASE_SECONDS must be at least 5: a lease shorter than one Slack or GitLab call sends the same thing twice' })
      .max(3600, { error: 'DELIVERY_LEASE_SECONDS must be at most 3600' })
      .default(60),
    GITLAB_URL: z
      .url({ protocol: /^https?$/, error: 'GITLAB_URL must be an http(s) URL such as https://gitlab.example.com' })
      .default('https://gitlab.com')
      .transform((u) => u.replace(/\/+$/, '')),
    GITLAB_TOKEN: required('GITLAB_TOKEN', 'create a token with api scope for a user who may approve merge requests (Developer role or higher)'),
    // Several, separated by commas: any one signs (a secret is rotated by listing old and new).
    GITLAB_WEBHOOK_SECRET: z.string().optional().transform(list),
    GITLAB_WEBHOOK_SECRETS_FILE: z.string().trim().optional().transform((v) => (v ? v : null)),
    ALLOW_UNSIGNED_WEBHOOKS: flag('ALLOW_UNSIGNED_WEBHOOKS'),
    SLACK_BOT_TOKEN: required('SLACK_BOT_TOKEN', 'copy the Bot User OAuth Token (xoxb-…) from the Slack app’s OAuth & Permissions page').regex(
      /^xoxb-/,
      'SLACK_BOT_TOKEN must be a bot token starting with xoxb-',
    ),
    SLACK_SIGNING_SECRET: z.string().optional().transform((v) => (v ? v : null)),
    SLACK_APP_TOKEN: z
      .string()
      .regex(/^xapp-/, 'SLACK_APP_TOKEN must be an app-level token starting with xapp- (with connections:write)')
      .optional()
      .or(z.literal('').transform(() => undefined))
      .transform((v) => v ?? null),
    SLACK_CHANNEL: required('SLACK_CHANNEL', 'set the ID (C…) of the channel that gets the cards: channel details > About > Channel ID').regex(
      /^[CG][A-Z0-9]{2,}$/,
      'SLACK_CHANNEL must be a channel ID such as C0123456789, not a #name',
    ),
    SLACK_API_URL: z
      .url({ protocol: /^https?$/, error: 'SLACK_API_URL must be an http(s) URL' })
      .optional()
      .transform((u) => (u ? (u.endsWith('/') ? u : `${u}/`) : null)),
    // Slack takes about one message a second per channel; more only for a workspace that allows it.
    SLACK_POST_PER_SECOND: z.coerce
      .number({ error: 'SLACK_POST_PER_SECOND must be a number of cards per second per channel, such as 1' })
      .positive('SLACK_POST_PER_SECOND must be more than 0 (Slack takes about 1 message per second per channel)')
      .max(1000, 'SLACK_POST_PER_SECOND must be at most 1000')
      .default(1),
    APPROVERS: z
      .string()
      .optional()
      .transform(list)
      .pipe(z.array(z.string().regex(/^[UWS][A-Z0-9]{2,}$/, 'APPROVERS must list Slack user IDs (U…, W…) or user-group IDs (S…)'))),
    GITLAB_APPROVERS: z
      .string()
      .optional()
      .transform(list)
      .pipe(z.array(z.string().regex(/^[\w.-]+$/, 'GITLAB_APPROVERS must list GitLab usernames'))),
    ALLOW_SELF_APPROVAL: flag('ALLOW_SELF_APPROVAL'),
    POLICY_FILE: z.string().optional().transform((v) => (v ? v : null)),
    WEB_USERS: z
      .string()
      .optional()
      .transform(list)
      .pipe(z.array(z.string().regex(/^[^:\s]+:.{8,}$/, 'WEB_USERS entries must be name:password with a password of 8 or more characters'))),
    PUBLIC_URL: z
      .url({ protocol: /^https?$/, error: 'PUBLIC_URL must be the http(s) address people use to reach the bot' })
      .optional()
      .transform((u) => (u ? u.replace(/\/+$/, '') : null)),
    GITLAB_OAUTH_CLIENT_ID: z.string().trim().optional().transform((v) => (v ? v : null)),
    GITLAB_OAUTH_CLIENT_SECRET: z.string().trim().optional().transform((v) => (v ? v : null)),
    SESSION_SECRET: z
      .string()
      .optional()
      .transform((v) => (v ? v : null))
      .refine((v) => v === null || v.length >= 32, 'SESSION_SECRET is too short: use 32 or more random characters, such as the output of openssl rand -base64 48'),
    // On unless turned off: authors hear of decisions in Slack, not only in GitLab.
    NOTIFY_AUTHORS: z
      .enum(['true', 'false', '1', '0', ''], { error: 'NOTIFY_AUTHORS must be true or false' })
      .optional()
      .transform((v) => v !== 'false' && v !== '0'),
    DRAFT_CARDS: z.enum(['wait', 'post'], { error: 'DRAFT_CARDS must be wait or post' }).default('wait'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'LOG_LEVEL must be a pino level such as info' }).default('info'),
    WEBHOOK_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)?$/i, 'WEBHOOK_BODY_LIMIT must be a size such as 25mb').default('25mb'),
    WEBHOOK_BUFFER_LIMIT: z.string().regex(/^\d+(b|kb|mb)?$/i, 'WEBHOOK_BUFFER_LIMIT must be a size such as 64mb').default('64mb'),
    DELIVERY_RETRY_BASE_MS: ms('DELIVERY_RETRY_BASE_MS', 1000),
    DELIVERY_RETRY_MAX_MS: ms('DELIVERY_RETRY_MAX_MS', 5 * 60_000),
    REQUEST_TIMEOUT_MS: ms('REQUEST_TIMEOUT_MS', 10_000),
    SHUTDOWN_GRACE_MS: ms('SHUTDOWN_GRACE_MS', 10_000),
    RECONCILE_INTERVAL_SECONDS: z.coerce
      .number({ error: 'RECONCILE_INTERVAL_SECONDS must be a whole number of seconds (0 turns the sweep off)' })
      .int('RECONCILE_INTERVAL_SECONDS must be a whole number of seconds (0 turns the sweep off)')
      .min(0, 'RECONCILE_INTERVAL_SECONDS must be 0 (off) or more')
      .default(300),
    GITLAB_PROJECTS: z
      .string()
      .optional()
      .transform(list)
      .pipe(z.array(z.string().regex(/^(\d+|[\w.-]+(\/[\w.-]+)+)$/, 'GITLAB_PROJECTS must list project ids (42) or paths (acme/payments-api), comma-separated'))),
  })
  // `when`: run even when other variables are wrong, so one start-up names every problem at once.
  .superRefine((env, ctx) => {
    if (env.GITLAB_WEBHOOK_SECRET.length === 0 && !env.GITLAB_WEBHOOK_SECRETS_FILE && !env.ALLOW_UNSIGNED_WEBHOOKS) {
      ctx.addIssue({
        code: 'custom',
        path: ['GITLAB_WEBHOOK_SECRET'],
        message:
          'GITLAB_WEBHOOK_SECRET is not set: give the status check a shared secret in GitLab and set the same value here, or name a file of secrets per project in GITLAB_WEBHOOK_SECRETS_FILE (GitLab older than 17.3 cannot sign: then set ALLOW_UNSIGNED_WEBHOOKS=true)',
      });
    }
    // Large bodies may take three quarters of the buffer: one of the largest size must fit.
    if (/^\d+(b|kb|mb)?$/i.test(env.WEBHOOK_BODY_LIMIT) && /^\d+(b|kb|mb)?$/i.test(env.WEBHOOK_BUFFER_LIMIT)) {
      if (sizeInBytes(env.WEBHOOK_BUFFER_LIMIT) * 0.75 < sizeInBytes(env.WEBHOOK_BODY_LIMIT)) {
        ctx.addIssue({
          code: 'custom',
          path: ['WEBHOOK_BUFFER_LIMIT'],
          message: `WEBHOOK_BUFFER_LIMIT (${env.WEBHOOK_BUFFER_LIMIT}) is too small: large bodies may use three quarters of it, so make it at least 4/3 of WEBHOOK_BODY_LIMIT (${env.WEBHOOK_BODY_LIMIT})`,
        });
      }
    }
    for (const [name, placeholder] of PLACEHOLDERS) {
      const value = (env as Record<string, unknown>)[name];
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v === 'string' && placeholder.test(v))) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `${name} still holds the placeholder of k8s/base/configmap.yaml: set it to your own value (see the README's Configuration section)`,
        });
      }
    }
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'SLACK_SIGNING_SECRET is not set: copy it from the Slack app’s Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)',
      });
    }
    // Sign in with GitLab: one of the pair set means it is wanted, so name everything it lacks.
    const oauthWanted = Boolean(env.GITLAB_OAUTH_CLIENT_ID || env.GITLAB_OAUTH_CLIENT_SECRET);
    if (oauthWanted && !env.GITLAB_OAUTH_CLIENT_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['GITLAB_OAUTH_CLIENT_ID'],
        message: 'GITLAB_OAUTH_CLIENT_ID is not set: copy the Application ID of the GitLab application (set both GITLAB_OAUTH_CLIENT_ID and GITLAB_OAUTH_CLIENT_SECRET, or neither)',
      });
    }
    if (oauthWanted && !env.GITLAB_OAUTH_CLIENT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['GITLAB_OAUTH_CLIENT_SECRET'],
        message: 'GITLAB_OAUTH_CLIENT_SECRET is not set: copy the Secret of the GitLab application (set both GITLAB_OAUTH_CLIENT_ID and GITLAB_OAUTH_CLIENT_SECRET, or neither)',
      });
    }
    if (oauthWanted && !env.PUBLIC_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['PUBLIC_URL'],
        message: 'PUBLIC_URL is not set: Sign in with GitLab sends people back to PUBLIC_URL + BASE_PATH + /auth/callback, the redirect URI of the GitLab application',
      });
    }
    if (oauthWanted && !env.SESSION_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SESSION_SECRET'],
        message: 'SESSION_SECRET is not set: Sign in with GitLab seals its session cookie with it; use 32 or more random characters, such as the output of openssl rand -base64 48',
      });
    }
    // A lease that ends while its call may still be running lets another replica send it too.
    if (typeof env.DELIVERY_LEASE_SECONDS === 'number' && typeof env.REQUEST_TIMEOUT_MS === 'number' && env.DELIVERY_LEASE_SECONDS * 1000 < 2 * env.REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['DELIVERY_LEASE_SECONDS'],
        message: `DELIVERY_LEASE_SECONDS (${env.DELIVERY_LEASE_SECONDS}) must be at least twice REQUEST_TIMEOUT_MS (${env.REQUEST_TIMEOUT_MS} ms): a lease that ends while a Slack or GitLab call may still run lets another replica send the same thing again`,
      });
    }
  }, { when: () => true });

/** Every variable the bot reads, by name (`ENV_FILE` is read by main.ts before these). */
export const SETTINGS: readonly string[] = [...Object.keys(schema.shape), 'ENV_FILE'];

/** The example values shipped in k8s/base/configmap.yaml: a bot started with one would run against nothing real. */
const PLACEHOLDERS: Array<[string, RegExp]> = [
  ['GITLAB_URL', /^https:\/\/gitlab\.example\.com$/],
  ['SLACK_CHANNEL', /^C0123456789$/],
  ['APPROVERS', /^U0123456789$/],
  ['GITLAB_OAUTH_CLIENT_ID', /^\.\.\.$/],
];

export interface Config {
  port: number;
  /** A port of its own for /metrics (kept off the public one); null: /metrics on `port`. */
  metricsPort: number | null;
  basePath: string;
  databasePath: string;
  /** PostgreSQL (several replicas) instead of the SQLite file; holds a password: never log it. */
  databaseUrl: string | null;
  /** How long a replica keeps a delivery it claimed before another may take it over. */
  deliveryLeaseMs: number;
  /** `webhookSecrets` is null only when unsigned calls were explicitly allowed. */
  gitlab: { url: string; token: string; webhookSecrets: WebhookSecrets | null; requestTimeoutMs: number };
  slack: { botToken: string; signingSecret: string | null; appToken: string | null; channel: string; apiUrl: string | null; postPerSecond: number };
  /** The default rule, when no policy rule matches. */
  approvers: string[];
  gitlabApprovers: string[];
  allowSelfApproval: boolean;
  policyFile: string | null;
  webUsers: Array<{ name: string; password: string }>;
  publicUrl: string | null;
  /** Sign in with GitLab for the web list; null when off. */
  oauth: { clientId: string; clientSecret: string; sessionSecret: string; redirectUri: string } | null;
  draftCards: 'wait' | 'post';
  /** Tell a merge request's author of decisions by Slack direct message. */
  notifyAuthors: boolean;
  logLevel: string;
  webhookBodyLimit: string;
  /** What all status check bodies being read may hold at once, in bytes. */
  webhookBufferLimit: number;
  delivery: { baseDelayMs: number; maxDelayMs: number };
  shutdownGraceMs: number;
  /** Asking GitLab what the bot missed: every `intervalSeconds` (0: never), these projects besides the known ones. */
  reconcile: { intervalSeconds: number; projects: string[] };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`The configuration is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and checks the environment; throws a ConfigError that names every problem. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  const e = parsed.data;
  const perProject = e.GITLAB_WEBHOOK_SECRETS_FILE ? readSecretsFile(e.GITLAB_WEBHOOK_SECRETS_FILE) : [];
  const signed = e.GITLAB_WEBHOOK_SECRET.length > 0 || perProject.length > 0;
  return {
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    basePath: e.BASE_PATH,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    deliveryLeaseMs: e.DELIVERY_LEASE_SECONDS * 1000,
    gitlab: {
      url: e.GITLAB_URL,
      token: e.GITLAB_TOKEN,
      webhookSecrets: signed ? { shared: e.GITLAB_WEBHOOK_SECRET, perProject, file: e.GITLAB_WEBHOOK_SECRETS_FILE } : null,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    },
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      channel: e.SLACK_CHANNEL,
      apiUrl: e.SLACK_API_URL,
      postPerSecond: e.SLACK_POST_PER_SECOND,
    },
    approvers: e.APPROVERS,
    gitlabApprovers: e.GITLAB_APPROVERS,
    allowSelfApproval: e.ALLOW_SELF_APPROVAL,
    policyFile: e.POLICY_FILE,
    webUsers: e.WEB_USERS.map((entry) => {
      const at = entry.indexOf(':');
      return { name: entry.slice(0, at), password: entry.slice(at + 1) };
    }),
    publicUrl: e.PUBLIC_URL,
    oauth:
      e.GITLAB_OAUTH_CLIENT_ID && e.GITLAB_OAUTH_CLIENT_SECRET && e.SESSION_SECRET && e.PUBLIC_URL
        ? {
            clientId: e.GITLAB_OAUTH_CLIENT_ID,
            clientSecret: e.GITLAB_OAUTH_CLIENT_SECRET,
            sessionSecret: e.SESSION_SECRET,
            redirectUri: `${e.PUBLIC_URL}${e.BASE_PATH}/auth/callback`,
          }
        : null,
    draftCards: e.DRAFT_CARDS,
    notifyAuthors: e.NOTIFY_AUTHORS,
    logLevel: e.LOG_LEVEL,
    webhookBodyLimit: e.WEBHOOK_BODY_LIMIT,
    webhookBufferLimit: sizeInBytes(e.WEBHOOK_BUFFER_LIMIT),
    delivery: { baseDelayMs: e.DELIVERY_RETRY_BASE_MS, maxDelayMs: e.DELIVERY_RETRY_MAX_MS },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    reconcile: { intervalSeconds: e.RECONCILE_INTERVAL_SECONDS, projects: e.GITLAB_PROJECTS },
  };
}

/** GITLAB_WEBHOOK_SECRETS_FILE, read at start-up; its problems name the file, line and key. */
function readSecretsFile(file: string) {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`GITLAB_WEBHOOK_SECRETS_FILE ${file} cannot be read: ${(error as Error).message}`]);
  }
  try {
    return parseSecretsFile(text);
  } catch (error) {
    if (!(error instanceof SecretsFileError)) throw error;
    throw new ConfigError(error.problems.map((p) => `GITLAB_WEBHOOK_SECRETS_FILE ${file} ${p}`));
  }
}
