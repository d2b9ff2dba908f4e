import { GitbeakerRequestError, GitbeakerTimeoutError, createRequesterFn } from '@gitbeaker/requester-utils';
import { DeliveryFailure } from '../delivery/failure.js';

/** Where the GitLab API is, the token to call it with, and how long one call may take. */
export interface GitLabOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

type RequestOptions = Record<string, unknown> & {
  prefixUrl?: string;
  searchParams?: string;
  method?: string;
  signal?: AbortSignal;
};

/**
 * One HTTP attempt per call. gitbeaker's own handler retries 429 and 502 ten times with
 * minutes of backoff; the delivery worker owns retrying here, so state stays visible and
 * shutdown stays fast.
 */
async function singleAttempt(endpoint: string, options?: RequestOptions) {
  const { rateLimiters: _r, agent: _a, asStream: _s, prefixUrl = '', searchParams, method, ...init } = options ?? {};
  const url = new URL(endpoint, prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`);
  url.search = searchParams ?? '';
  const request = new Request(url, { ...(init as RequestInit), method });
  const response = await fetch(request).catch((error: Error) => {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') throw new GitbeakerTimeoutError('Query timeout was reached');
    throw error;
  });
  const text = await response.text();
  if (!response.ok) {
    throw new GitbeakerRequestError(text || response.statusText, { cause: { description: text, request, response } });
  }
  const type = response.headers.get('content-type') ?? '';
  return {
    body: type.includes('json') && text ? (JSON.parse(text) as unknown) : text,
    headers: Object.fromEntries(response.headers.entries()),
    status: response.status,
  };
}

export const requesterFn = createRequesterFn((_service, options) => Promise.resolve(options), singleAttempt as never);

/** Why GitLab said no, in words a person can act on. */
export function explainGitLabError(error: unknown): DeliveryFailure {
  if (error instanceof GitbeakerRequestError) {
    const response = (error.cause as { response?: Response } | undefined)?.response;
    const status = response?.status ?? 0;
    const detail = gitlabMessage(error.message);
    const transient = status === 408 || status === 429 || status >= 500;
    const retryAfter = Number(response?.headers.get('retry-after'));
    const hint: Record<number, string> = {
      401: 'the token is invalid or the instance is not licensed for status checks',
      403: 'the token may not answer this check',
      404: 'the check is not in this project, or the token cannot see it',
      409: 'the merge request has a newer commit',
    };
    // A 409 names GitLab's current HEAD, which may be a commit the bot has not heard of yet.
    const head = status === 409 ? /HEAD of source branch: ([0-9a-f]{40}(?:[0-9a-f]{24})?)\b/.exec(detail)?.[1] : undefined;
    const why = head ? ` (the merge request's HEAD is now ${head.slice(0, 8)}, a newer commit)` : hint[status] ? ` (${hint[status]})` : '';
    return new DeliveryFailure(
      `GitLab answered ${status}${why}: ${detail}`,
      !transient,
      status === 429 && Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
      status,
    );
  }
  if (error instanceof GitbeakerTimeoutError) return new DeliveryFailure('GitLab did not answer in time', false);
  const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new DeliveryFailure(`GitLab could not be reached: ${message}`, false);
}

function gitlabMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = body.message ?? body.error;
    if (message !== undefined) return (typeof message === 'string' ? message : JSON.stringify(message)).slice(0, 300);
  } catch {
    // not JSON: use the text as it is
  }
  return text.slice(0, 300) || 'no message';
}


/**
 * What `make` builds from gitbeaker's API classes, made at the first call and kept: the
 * classes (hundreds of them) load then rather than at start-up, which needs none of them.
 */
export function gitbeakerApi<T>(make: (gitbeaker: typeof import('@gitbeaker/rest')) => T): () => Promise<T> {
  let made: Promise<T> | null = null;
  return () => (made ??= import('@gitbeaker/rest').then(make));
}

/** What every gitbeaker API class of the bot is built with: one attempt per call, bounded in time. */
export function gitbeakerOptions({ url, token, timeoutMs }: GitLabOptions) {
  return { host: url, token, requesterFn, queryTimeout: timeoutMs };
}
