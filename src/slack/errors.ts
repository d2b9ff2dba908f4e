import { DeliveryFailure } from '../delivery/failure.js';

/** Slack platform errors that a later try may not see. Any other is the request's fault. */
const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited', 'team_added_to_org']);

interface SlackError {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string; response_metadata?: { messages?: string[] } };
  message?: string;
}

/** Turns a WebClient error into what the delivery worker needs: retry, when, or stop. */
export function explainSlackError(error: unknown): DeliveryFailure {
  const e = (error ?? {}) as SlackError;
  switch (e.code) {
    case 'slack_webapi_rate_limited_error':
      return new DeliveryFailure(`Slack rate limit: retry after ${e.retryAfter ?? 1}s`, false, Math.max(1, e.retryAfter ?? 1) * 1000);
    case 'slack_webapi_platform_error': {
      const code = e.data?.error ?? 'unknown_error';
      // Slack names the offending field (`[ERROR] must be less than 3001 characters
      // [json-pointer:/blocks/2/text/text]`): what a maintainer needs to fix it.
      const first = e.data?.response_metadata?.messages?.[0]?.replace(/^\[ERROR\]\s*/, '');
      const detail = first ? `: ${first.slice(0, 300)}` : '';
      return new DeliveryFailure(`Slack refused: ${code}${detail}${hints[code] ?? ''}`, !TRANSIENT.has(code));
    }
    case 'slack_webapi_http_error': {
      const status = e.statusCode ?? 0;
      return new DeliveryFailure(`Slack answered HTTP ${status}`, !(status === 408 || status === 429 || status >= 500));
    }
    default:
      return new DeliveryFailure(`Slack could not be reached: ${e.message ?? String(error)}`, false);
  }
}

const hints: Record<string, string> = {
  channel_not_found: ' (check SLACK_CHANNEL; a private channel must invite the bot)',
  not_in_channel: ' (invite the bot to the channel: /invite @GitLab Approvals)',
  invalid_auth: ' (SLACK_BOT_TOKEN is not valid)',
  missing_scope: ' (reinstall the app from manifest.yml to grant its scopes)',
  message_not_found: ' (the card was deleted in Slack; the decision itself is not affected)',
  invalid_blocks: ' (a card broke a Block Kit limit; please report it with the bot’s logs)',
};
