import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import pino, { type Logger } from 'pino';

/**
 * Paths that must never reach a log line, whatever logs them. Request logs carry no
 * headers at all (see requestLogger), so signatures and Basic credentials stay out too.
 */
export const REDACT = [
  'token',
  'secret',
  'password',
  '*.token',
  '*.secret',
  '*.password',
  'headers.authorization',
  'headers.cookie',
  'config.gitlab.token',
  'config.gitlab.webhookSecret',
  'config.gitlab.webhookSecrets',
  'config.slack.botToken',
  'config.slack.signingSecret',
  'config.slack.appToken',
  'config.webUsers',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'gitlab-approval-bot' } }, destination);
}

/** Bolt logs through our pino logger, in the same JSON lines. */
export function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: 'slack' });
  let level = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
