import { setTimeout as wait } from 'node:timers/promises';
import * as z from 'zod';
import type { MergeRequestEvent } from '../domain/check.js';
import type { ListedStatusCheck } from '../domain/reconcile.js';

/** A merge request as GitLab's API lists it: the part a sweep needs. */
const mergeRequestSchema = z.object({
  iid: z.number().int().positive(),
  title: z.string(),
  web_url: z.string(),
  source_branch: z.string(),
  target_branch: z.string(),
  sha: z.string().nullable().optional(),
  state: z.enum(['opened', 'closed', 'merged', 'locked']),
  draft: z.boolean().optional(),
  updated_at: z.string().nullable().optional(),
  author: z.object({ username: z.string() }).nullable().optional(),
});
export type ListedMergeRequest = z.infer<typeof mergeRequestSchema>;

const projectSchema = z.object({ id: z.number().int().positive(), path_with_namespace: z.string(), web_url: z.string() });
export interface Project {
  id: number;
  path: string;
  url: string;
}

const statusChecksSchema = z.array(z.object({ id: z.number().int(), name: z.string(), external_url: z.string(), status: z.string() }));

export interface ReconcileClientOptions {
  url: string;
  token: string;
  timeoutMs: number;
  /** Least time between two calls, so a sweep stays far below GitLab's rate limits. */
  paceMs: number;
  /** Longest Retry-After honoured; a longer one ends the sweep (the next one tries again). */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
}

/** GitLab's answer was not what the sweep can use. */
export class ReconcileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileError';
  }
}

/**
 * The GitLab calls of a sweep: the open merge requests of a project (every page, following
 * X-Next-Page) and the status checks of each. One call at a time, paced, and a 429's
 * Retry-After waited out before trying again.
 */
export class ReconcileClient {
  readonly #o: Required<Omit<ReconcileClientOptions, 'signal'>> & Pick<ReconcileClientOptions, 'signal'>;
  #last = 0;

  constructor(options: ReconcileClientOptions) {
    this.#o = { maxRetryAfterMs: 60_000, ...options };
  }

  async project(idOrPath: number | string): Promise<Project> {
    const { body } = await this.#get(`projects/${encodeURIComponent(String(idOrPath))}`);
    const p = parse(projectSchema, body, `project ${idOrPath}`);
    return { id: p.id, path: p.path_with_namespace, url: p.web_url };
  }

  async openMergeRequests(projectId: number): Promise<ListedMergeRequest[]> {
    const all: ListedMergeRequest[] = [];
    let page: string | null = '1';
    // Bounded: 100 pages of 100 is more open merge requests than any project keeps.
    for (let n = 0; page && n < 100; n += 1) {
      const { body, headers } = await this.#get(`projects/${projectId}/merge_requests`, { state: 'opened', per_page: '100', page });
      all.push(...parse(z.array(mergeRequestSchema), body, `the open merge requests of project ${projectId}`));
      page = headers.get('x-next-page') || null;
    }
    return all;
  }

  async mergeRequest(projectId: number, iid: number): Promise<ListedMergeRequest> {
    const { body } = await this.#get(`projects/${projectId}/merge_requests/${iid}`);
    return parse(mergeRequestSchema, body, `merge request !${iid} of project ${projectId}`);
  }

  async statusChecks(projectId: number, iid: number): Promise<ListedStatusCheck[]> {
    const { body } = await this.#get(`projects/${projectId}/merge_requests/${iid}/status_checks`);
    return parse(statusChecksSchema, body, `the status checks of !${iid}`).map((c) => ({ id: c.id, name: c.name, externalUrl: c.external_url, status: c.status }));
  }

  async #get(path: string, query: Record<string, string> = {}): Promise<{ body: unknown; headers: Headers }> {
    const url = new URL(`${this.#o.url}/api/v4/${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    for (let attempt = 1; ; attempt += 1) {
      const gap = this.#last + this.#o.paceMs - Date.now();
      if (gap > 0) await wait(gap, undefined, { signal: this.#o.signal });
      this.#last = Date.now();
      let response: Response;
      try {
        const signals = [AbortSignal.timeout(this.#o.timeoutMs), ...(this.#o.signal ? [this.#o.signal] : [])];
        response = await fetch(url, { headers: { 'private-token': this.#o.token, accept: 'application/json' }, signal: AbortSignal.any(signals) });
      } catch (error) {
        throw new ReconcileError(`GitLab could not be reached for ${url.pathname}: ${(error as Error).message}`);
      }
      if (response.status === 429 && attempt < 4) {
        const seconds = Number(response.headers.get('retry-after'));
        const delay = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000 * attempt;
        if (delay > this.#o.maxRetryAfterMs) throw new ReconcileError(`GitLab asked to wait ${seconds} s (rate limit): the sweep stops here and the next one goes on.`);
        await response.body?.cancel();
        await wait(delay, undefined, { signal: this.#o.signal });
        continue;
      }
      const text = await response.text();
      if (!response.ok) {
        const why: Record<number, string> = { 401: 'the token is invalid or expired', 403: 'the token may not read this project', 404: 'no such project or merge request, or the token cannot see it' };
        throw new ReconcileError(`GitLab answered ${response.status} to GET ${url.pathname}${why[response.status] ? ` (${why[response.status]})` : ''}: ${text.slice(0, 200)}`);
      }
      try {
        return { body: JSON.parse(text) as unknown, headers: response.headers };
      } catch {
        throw new ReconcileError(`GitLab answered GET ${url.pathname} with something that is not JSON.`);
      }
    }
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReconcileError(`GitLab’s answer for ${what} is not as expected: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

/**
 * The call GitLab would have made for this merge request and status check, built from the API:
 * the sweep feeds it through the same path as a real call.
 */
export function eventFor(project: Project, mr: ListedMergeRequest, check: { id: number; name: string }, sha: string): MergeRequestEvent {
  const updatedAt = mr.updated_at ? new Date(mr.updated_at) : null;
  return {
    projectId: project.id,
    projectPath: project.path,
    projectUrl: project.url,
    mergeRequestIid: mr.iid,
    title: mr.title,
    url: mr.web_url,
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    sha,
    statusCheckId: check.id,
    statusCheckName: check.name,
    commitAuthor: null,
    triggeredBy: mr.author?.username ?? null,
    mergeRequestState: mr.state,
    draft: mr.draft ?? false,
    updatedAt: updatedAt && !Number.isNaN(updatedAt.getTime()) ? updatedAt : null,
  };
}
