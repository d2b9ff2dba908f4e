import crypto from 'node:crypto';
import { listen, readBody, send, type Canned } from './http.js';
import { Recorder } from './recorder.js';

export { gitlabSignature, sendStatusCheck } from './gitlab-requests.js';

/** Who wrote a merge request, as the fake GitLab reports it. */
export interface MergeRequestAuthors {
  id: number;
  username: string;
  /** The author's public e-mail. */
  email: string;
  /** E-mails of the commits' authors; the author's own by default. */
  commitEmails?: string[];
  /** The author set no public e-mail, so GitLab shows none (the default on gitlab.com). */
  hidePublicEmail?: boolean;
}

/** The sample merge request's author (test/fixtures/status-check.json, and the demo's src/demo/sample-status-check.json). */
export const DEFAULT_AUTHOR: MergeRequestAuthors = { id: 17, username: 'dreyes', email: 'dana.reyes@example.com' };

/** Which calls a canned answer stands in for: a path pattern, and the method when it matters. */
export interface FakeRoute {
  method?: string;
  path: RegExp;
}

export interface GitLabCall {
  method: string;
  path: string;
  /** PRIVATE-TOKEN, or the token of `Authorization: Bearer`. */
  token: string | undefined;
  /** The JSON or form body. */
  body: Record<string, unknown>;
  /** The query string, for GET requests such as /oauth/authorize. */
  query?: Record<string, string>;
}

/** A GitLab application (Settings > Applications) the fake signs people in for. */
export interface FakeOAuthApp {
  clientId: string;
  clientSecret: string;
  /** The registered redirect URI; GitLab refuses any other. */
  redirectUri: string;
  /** The scopes the application was given; `read_user` unless told otherwise. */
  scopes?: string[];
}

/** The person signed in to the fake GitLab's browser session, who authorizes the application. */
export interface FakeGitLabUser {
  id?: number;
  username: string;
  name: string;
  email: string;
  publicEmail?: string;
  /** When the account's e-mail was confirmed; null: never (GitLab then answers `confirmed_at: null`). A date unless told. */
  confirmedAt?: string | null;
}

interface Grant {
  user: FakeGitLabUser;
  redirectUri: string;
  challenge: string;
  scope: string;
}

const INVALID_GRANT = {
  status: 400,
  body: {
    error: 'invalid_grant',
    error_description:
      'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  },
};

/** An external status check configured on a project (Settings > Merge requests > Status checks). */
export interface FakeStatusCheck {
  id: number;
  name: string;
}

/** The sample call's check (test/fixtures/status-check.json, and the demo's sample): what every project has unless told. */
export const DEFAULT_STATUS_CHECK: FakeStatusCheck = { id: 7, name: 'Change approval' };

export interface FakeGitLabOptions {
  /** The GitLab version to behave as ("16.4", "17.6"): `pending` is refused before 16.5. */
  version?: string;
}

/** A status check response GitLab accepted (201): what it shows is the newest for (MR, check, SHA). */
export interface AcceptedResponse {
  projectId: number;
  mergeRequestIid: number;
  checkId: number;
  sha: string;
  status: string;
}

/**
 * One page of a list, as GitLab's offset pagination answers it: `page` and `per_page` from
 * the query (20 and at most 100 by default), the page's items, and the X-Page, X-Per-Page,
 * X-Next-Page, X-Prev-Page, X-Total, X-Total-Pages and Link headers. Clients such as
 * gitbeaker follow Link's `rel="next"`.
 */
export function paginate<T>(items: readonly T[], query: Record<string, string> | undefined, pageUrl: string): Canned {
  const number = (value: string | undefined, fallback: number) => {
    const n = Number(value);
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  const perPage = Math.min(number(query?.per_page, 20), 100);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const page = number(query?.page, 1);
  const link = (n: number) => {
    const url = new URL(pageUrl);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    url.searchParams.set('page', String(n));
    url.searchParams.set('per_page', String(perPage));
    return url.toString();
  };
  const links = [
    ...(page > 1 ? [`<${link(Math.min(page - 1, totalPages))}>; rel="prev"`] : []),
    ...(page < totalPages ? [`<${link(page + 1)}>; rel="next"`] : []),
    `<${link(1)}>; rel="first"`,
    `<${link(totalPages)}>; rel="last"`,
  ];
  return {
    status: 200,
    headers: {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(Math.min(page - 1, totalPages)) : '',
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      link: links.join(', '),
    },
    body: items.slice((page - 1) * perPage, page * perPage),
  };
}

const NOT_FOUND: Canned = { status: 404, body: { message: '404 Not found' } };

/**
 * A stand-in for the parts of GitLab's REST API the bot calls, as strict as GitLab:
 * `POST /api/v4/projects/:id/merge_requests/:iid/status_check_responses` answers 201 with
 * the response row; 401 for a wrong token (or when `licensed` is off); 400 when `sha`,
 * `external_status_check_id` or `status` is missing or the status is not allowed (`pending`
 * before 16.5); 403 when `mayApprove` is off; 404 for a merge request it does not know or a
 * check the project does not have; 409 naming the current HEAD when the SHA is not the HEAD.
 * A merge request becomes known with `setHead` (a push) or `track` (the call GitLab sends
 * about it). List endpoints are paginated as GitLab paginates them.
 *
 * With an OAuth application it also signs people in as GitLab does: `GET /oauth/authorize`
 * (PKCE with S256 required) redirects back with a code for `oauthUser`, `POST /oauth/token`
 * trades the code and verifier for an access token, `GET /api/v4/user` says whose it is.
 */
export class FakeGitLab {
  readonly requests = new Recorder<GitLabCall>();
  readonly #queued: Canned[] = [];
  readonly #routed: Array<{ route: FakeRoute; answers: Canned[] }> = [];
  readonly #heads = new Map<string, string>();
  readonly #checks = new Map<number, FakeStatusCheck[]>();
  readonly #accepted: AcceptedResponse[] = [];
  readonly #authors = new Map<string, MergeRequestAuthors>();
  readonly #codes = new Map<string, Grant>();
  readonly #accessTokens = new Map<string, FakeGitLabUser>();
  #nextId = 1;
  url = '';
  close: () => Promise<void> = async () => undefined;
  /** Who is signed in to GitLab and authorizes the application; null: nobody, /oauth/authorize answers 400. */
  oauthUser: FakeGitLabUser | null = null;
  /** Off: the instance is not licensed for status checks, and every status check call answers 401. */
  licensed = true;
  /** Off: the token's user may not approve merge requests, and responses answer 403. */
  mayApprove = true;
  readonly version: string;

  constructor(
    readonly token: string,
    readonly onCall?: (call: GitLabCall, status: number) => void,
    readonly oauth: FakeOAuthApp | null = null,
    options: FakeGitLabOptions = {},
  ) {
    this.version = options.version ?? '17.6';
  }

  static async start(
    token: string,
    onCall?: (call: GitLabCall, status: number) => void,
    oauth: FakeOAuthApp | null = null,
    options: FakeGitLabOptions = {},
  ): Promise<FakeGitLab> {
    const fake = new FakeGitLab(token, onCall, oauth, options);
    const { url, close } = await listen((req, res) => {
      void fake.#handle(req, res);
    });
    fake.url = url;
    fake.close = close;
    return fake;
  }

  /** The status check responses received, in order. */
  get responses(): GitLabCall[] {
    return this.requests.calls.filter((c) => c.path.endsWith('/status_check_responses'));
  }

  waitForResponses(count = 1, timeoutMs?: number): Promise<GitLabCall[]> {
    return this.requests.waitFor((c) => c.path.endsWith('/status_check_responses'), count, timeoutMs);
  }

  /** Answer the next status check responses (reports) with these instead (outages and refusals). */
  queue(...responses: Canned[]): void {
    this.#queued.push(...responses);
  }

  /**
   * Answer the next calls that match `route` with these instead, one per call, in order: an
   * outage of the author look-ups or of notes. (`queue` is the same for the reports.)
   */
  queueFor(route: FakeRoute, ...responses: Canned[]): void {
    this.#routed.push({ route, answers: [...responses] });
  }

  /** Makes GitLab take `ms` to answer calls whose path matches (a loaded GitLab); 0 undoes it. */
  slow(path: RegExp, ms: number): void {
    this.#slow.set(path.source, { path, ms });
  }
  readonly #slow = new Map<string, { path: RegExp; ms: number }>();

  /** A push: the merge request's HEAD is now `sha`; a response for another SHA is refused with 409. */
  setHead(projectId: number, iid: number, sha: string): void {
    this.#heads.set(`${projectId}/${iid}`, sha);
  }

  /** The merge request's HEAD, or undefined when the fake does not know the merge request. */
  headOf(projectId: number, iid: number): string | undefined {
    return this.#heads.get(`${projectId}/${iid}`);
  }

  /**
   * GitLab sends a status check call about a merge request at its HEAD: records that HEAD
   * from the call's payload, so the fake knows the merge request the bot will answer for.
   */
  track(payload: unknown): void {
    const p = payload as { project?: { id?: unknown }; object_attributes?: { iid?: unknown; last_commit?: { id?: unknown } | null } };
    const [projectId, iid, sha] = [p.project?.id, p.object_attributes?.iid, p.object_attributes?.last_commit?.id];
    if (typeof projectId === 'number' && typeof iid === 'number' && typeof sha === 'string') this.setHead(projectId, iid, sha);
  }

  /** The external status checks of a project; every project has DEFAULT_STATUS_CHECK unless told. */
  setStatusChecks(projectId: number, checks: FakeStatusCheck[]): void {
    this.#checks.set(projectId, checks);
  }

  #statusChecksOf(projectId: number): FakeStatusCheck[] {
    return this.#checks.get(projectId) ?? [DEFAULT_STATUS_CHECK];
  }

  /** Every status check response GitLab accepted, in order. */
  get accepted(): AcceptedResponse[] {
    return [...this.#accepted];
  }

  /** What GitLab shows for the check on this commit: the newest accepted response, or null when none. */
  statusOf(projectId: number, iid: number, checkId: number, sha: string): string | null {
    const rows = this.#accepted.filter((r) => r.projectId === projectId && r.mergeRequestIid === iid && r.checkId === checkId && r.sha === sha);
    return rows.at(-1)?.status ?? null;
  }

  /** Whether this GitLab is at least `major.minor`. */
  #atLeast(major: number, minor: number): boolean {
    const [ma = 0, mi = 0] = this.version.split('.').map(Number);
    return ma > major || (ma === major && mi >= minor);
  }

  async #handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const text = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      if (/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) body = Object.fromEntries(new URLSearchParams(text));
      else body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { unparsed: text };
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const call: GitLabCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      token: (req.headers['private-token'] as string | undefined) ?? bearer,
      body,
      ...(url.search ? { query: Object.fromEntries(url.searchParams) } : {}),
    };
    const delay = [...this.#slow.values()].find((s) => s.path.test(call.path))?.ms ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (res.destroyed) return; // closed while it waited
    const answer = this.#answer(call);
    this.requests.push(call);
    this.onCall?.(call, answer.status);
    send(res, answer);
  }

  #answer(call: GitLabCall): Canned {
    // `queue` stands in for the reports only; `queueFor` for whatever its route names.
    const queued = call.path.endsWith('/status_check_responses') ? this.#queued.shift() : this.#routedAnswer(call);
    if (queued) return queued;
    if (call.method === 'GET' && call.path === '/oauth/authorize') return this.#authorize(call.query ?? {});
    if (call.method === 'POST' && call.path === '/oauth/token') return this.#exchange(call.body);
    if (call.method === 'GET' && call.path === '/api/v4/user' && call.token && this.#accessTokens.has(call.token)) {
      const user = this.#accessTokens.get(call.token) as FakeGitLabUser;
      return {
        status: 200,
        body: {
          id: user.id ?? 4242,
          username: user.username,
          name: user.name,
          email: user.email,
          public_email: user.publicEmail ?? '',
          state: 'active',
          confirmed_at: user.confirmedAt === undefined ? '2024-01-15T09:30:00.000Z' : user.confirmedAt,
        },
      };
    }
    if (call.token !== this.token) return { status: 401, body: { message: '401 Unauthorized' } };
    const listed = this.#listingAnswer(call);
    if (listed) return listed;
    const mr = /^\/api\/v4\/projects\/(\d+)\/merge_requests\/(\d+)(\/commits|\/notes)?$/.exec(call.path);
    if (mr) return this.#mergeRequest(call, Number(mr[1]), Number(mr[2]), mr[3] ?? '');
    const user = /^\/api\/v4\/users\/(\d+)$/.exec(call.path);
    if (call.method === 'GET' && user) {
      const author = [...this.#authors.values()].find((a) => a.id === Number(user[1])) ?? (Number(user[1]) === DEFAULT_AUTHOR.id ? DEFAULT_AUTHOR : null);
      return author
        ? { status: 200, body: { id: author.id, username: author.username, name: author.username, state: 'active', public_email: author.hidePublicEmail ? '' : author.email } }
        : { status: 404, body: { message: '404 User Not Found' } };
    }
    const match = /^\/api\/v4\/projects\/(\d+)\/merge_requests\/(\d+)\/status_check_responses$/.exec(call.path);
    if (call.method !== 'POST' || !match) return NOT_FOUND;
    return this.#statusCheckResponse(call, Number(match[1]), Number(match[2]));
  }

  /** In GitLab's order: licence (401), parameters (400), access (403), merge request and check (404), HEAD (409). */
  #statusCheckResponse(call: GitLabCall, projectId: number, iid: number): Canned {
    if (!this.licensed) return { status: 401, body: { message: '401 Unauthorized' } };
    const { sha, external_status_check_id: checkId, status } = call.body;
    const missing = [
      ['sha', sha],
      ['external_status_check_id', checkId],
      ['status', status],
    ]
      .filter(([, value]) => value === undefined || value === null || value === '')
      .map(([name]) => `${String(name)} is missing`);
    if (missing.length) return { status: 400, body: { error: missing.join(', ') } };
    if (!Number.isInteger(Number(checkId))) return { status: 400, body: { error: 'external_status_check_id is invalid' } };
    const allowed = this.#atLeast(16, 5) ? ['passed', 'failed', 'pending'] : ['passed', 'failed'];
    if (!allowed.includes(String(status))) return { status: 400, body: { error: 'status does not have a valid value' } };
    if (!this.mayApprove) return { status: 403, body: { message: '403 Forbidden' } };
    const head = this.#heads.get(`${projectId}/${iid}`);
    if (head === undefined) return { status: 404, body: { message: '404 Merge Request Not Found' } };
    const check = this.#statusChecksOf(projectId).find((c) => c.id === Number(checkId));
    if (!check) return NOT_FOUND;
    if (head !== sha) return { status: 409, body: { message: `SHA does not match HEAD of source branch: ${head}` } };
    this.#accepted.push({ projectId, mergeRequestIid: iid, checkId: check.id, sha: String(sha), status: String(status) });
    return {
      status: 201,
      body: {
        id: this.#nextId++,
        merge_request: { id: 5512, iid, project_id: projectId },
        external_status_check: { id: check.id, name: check.name, external_url: 'https://approvals.example.com/status_check' },
      },
    };
  }

  /** The merge request and status check listings (see the block below the class). */
  #listingAnswer(call: GitLabCall): Canned | null {
    return listingAnswer(this, call);
  }


  #routedAnswer(call: GitLabCall): Canned | undefined {
    const hit = this.#routed.find(
      ({ route, answers }) => answers.length > 0 && (route.method === undefined || route.method === call.method) && route.path.test(call.path),
    );
    return hit?.answers.shift();
  }

  /** The merge request's author and the e-mails on its commits (the four-eyes rule reads them). */
  setAuthors(projectId: number, iid: number, authors: MergeRequestAuthors): void {
    this.#authors.set(`${projectId}/${iid}`, authors);
  }

  /** Notes posted on merge requests, in order. */
  get notes(): GitLabCall[] {
    return this.requests.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/notes'));
  }

  #mergeRequest(call: GitLabCall, projectId: number, iid: number, sub: string): Canned {
    const authors = this.#authors.get(`${projectId}/${iid}`) ?? DEFAULT_AUTHOR;
    if (call.method === 'GET' && sub === '') {
      return { status: 200, body: { id: 5512, iid, project_id: projectId, state: 'opened', author: { id: authors.id, username: authors.username, name: authors.username } } };
    }
    if (call.method === 'GET' && sub === '/commits') {
      const emails = authors.commitEmails ?? [authors.email];
      const commits = emails.map((email, i) => ({ id: `${i}`.padStart(40, 'c'), author_email: email, committer_email: email, title: 'commit' }));
      return paginate(commits, call.query, `${this.url}${call.path}`);
    }
    if (call.method === 'POST' && sub === '/notes') {
      if (typeof call.body.body !== 'string' || !call.body.body) return { status: 400, body: { message: { body: ["can't be blank"] } } };
      return { status: 201, body: { id: this.#nextId++, body: call.body.body, noteable_iid: iid, system: false } };
    }
    return NOT_FOUND;
  }

  #authorize(q: Record<string, string>): Canned {
    const app = this.oauth;
    const refuse = (error: string, description: string): Canned => ({ status: 400, body: { error, error_description: description } });
    if (!app || q.client_id !== app.clientId) return refuse('invalid_client', 'Client authentication failed due to unknown client.');
    if (q.redirect_uri !== app.redirectUri) return refuse('invalid_redirect_uri', 'The redirect uri included is not valid.');
    if (q.response_type !== 'code') return refuse('unsupported_response_type', 'The authorization server does not support this response type.');
    const scopes = (q.scope ?? '').split(/[ +]/).filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !(app.scopes ?? ['read_user']).includes(s))) {
      return refuse('invalid_scope', 'The requested scope is invalid, unknown, or malformed.');
    }
    if (q.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43,128}$/.test(q.code_challenge ?? '')) {
      return refuse('invalid_request', 'Code challenge is required, with code_challenge_method S256.');
    }
    if (!this.oauthUser) return refuse('access_denied', 'Nobody is signed in to the fake GitLab: set oauthUser.');
    const code = crypto.randomBytes(32).toString('hex');
    this.#codes.set(code, { user: this.oauthUser, redirectUri: app.redirectUri, challenge: q.code_challenge as string, scope: scopes.join(' ') });
    const back = new URL(app.redirectUri);
    back.searchParams.set('code', code);
    if (q.state !== undefined) back.searchParams.set('state', q.state);
    return { status: 302, headers: { location: back.toString() }, body: '' };
  }

  #exchange(form: Record<string, unknown>): Canned {
    const app = this.oauth;
    if (!app || form.client_id !== app.clientId || form.client_secret !== app.clientSecret) {
      return {
        status: 401,
        body: {
          error: 'invalid_client',
          error_description: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
        },
      };
    }
    if (form.grant_type !== 'authorization_code') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server.' } };
    }
    const grant = this.#codes.get(String(form.code));
    // A code serves one exchange, whatever its outcome.
    this.#codes.delete(String(form.code));
    if (!grant || form.redirect_uri !== grant.redirectUri) return INVALID_GRANT;
    const verifier = typeof form.code_verifier === 'string' ? form.code_verifier : '';
    if (crypto.createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return INVALID_GRANT;
    const accessToken = crypto.randomBytes(32).toString('hex');
    this.#accessTokens.set(accessToken, grant.user);
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 7200,
        refresh_token: crypto.randomBytes(32).toString('hex'),
        scope: grant.scope,
        created_at: Math.floor(Date.now() / 1000),
      },
    };
  }
}

// --- merge request and status check listings (what a reconcile sweep reads) ---------------
// GitLab's list endpoints, paginated with its headers: X-Page, X-Per-Page, X-Next-Page,
// X-Prev-Page, X-Total, X-Total-Pages (per_page 20 by default, 100 at most).

/** A merge request the fake GitLab lists. */
export interface FakeMergeRequest {
  iid: number;
  title?: string;
  state?: 'opened' | 'closed' | 'merged' | 'locked';
  /** The HEAD of the source branch. */
  sha: string;
  sourceBranch?: string;
  targetBranch?: string;
  draft?: boolean;
  updatedAt?: string;
  /** The status checks on the project: GitLab lists each for every merge request. */
  statusChecks: Array<{ id: number; name: string; externalUrl: string }>;
}

interface FakeProject {
  id: number;
  path: string;
  mergeRequests: Map<number, FakeMergeRequest>;
}

const listingState = new WeakMap<FakeGitLab, { projects: Map<number, FakeProject> }>();

function listing(fake: FakeGitLab) {
  let state = listingState.get(fake);
  if (!state) listingState.set(fake, (state = { projects: new Map() }));
  return state;
}

/** Adds or replaces a merge request of a project (`path` e.g. acme/payments-api). */
export function setMergeRequest(fake: FakeGitLab, project: { id: number; path: string }, mr: FakeMergeRequest): void {
  const { projects } = listing(fake);
  let p = projects.get(project.id);
  if (!p) projects.set(project.id, (p = { id: project.id, path: project.path, mergeRequests: new Map() }));
  p.mergeRequests.set(mr.iid, mr);
  // A push moves HEAD: a response for another commit is refused, as GitLab does.
  fake.setHead(project.id, mr.iid, mr.sha);
}

function mergeRequestJson(p: FakeProject, mr: FakeMergeRequest) {
  const webUrl = `https://gitlab.example.com/${p.path}`;
  return {
    id: 5000 + mr.iid,
    iid: mr.iid,
    project_id: p.id,
    title: mr.title ?? `Merge request ${mr.iid}`,
    state: mr.state ?? 'opened',
    draft: mr.draft ?? false,
    source_branch: mr.sourceBranch ?? `feature/${mr.iid}`,
    target_branch: mr.targetBranch ?? 'main',
    sha: mr.sha,
    updated_at: mr.updatedAt ?? '2026-11-20T09:30:02.000Z',
    web_url: `${webUrl}/-/merge_requests/${mr.iid}`,
    author: { id: DEFAULT_AUTHOR.id, username: DEFAULT_AUTHOR.username, name: DEFAULT_AUTHOR.username },
    references: { full: `${p.path}!${mr.iid}` },
  };
}

function listingAnswer(fake: FakeGitLab, call: GitLabCall): Canned | null {
  if (call.method !== 'GET') return null;
  const { projects } = listing(fake);
  const project = /^\/api\/v4\/projects\/([^/]+)(\/.*)?$/.exec(call.path);
  if (!project) return null;
  const key = decodeURIComponent(project[1] as string);
  const p = [...projects.values()].find((x) => String(x.id) === key || x.path === key);
  const rest = project[2] ?? '';
  if (!p) return rest === '' || rest === '/merge_requests' ? { status: 404, body: { message: '404 Project Not Found' } } : null;
  if (rest === '') return { status: 200, body: { id: p.id, path_with_namespace: p.path, web_url: `https://gitlab.example.com/${p.path}` } };
  if (rest === '/merge_requests') {
    const state = call.query?.state;
    const all = [...p.mergeRequests.values()].filter((mr) => !state || state === 'all' || (mr.state ?? 'opened') === state).sort((a, b) => b.iid - a.iid);
    return paginate(all.map((mr) => mergeRequestJson(p, mr)), call.query, `${fake.url}${call.path}`);
  }
  const one = /^\/merge_requests\/(\d+)(\/status_checks)?$/.exec(rest);
  const mr = one ? p.mergeRequests.get(Number(one[1])) : undefined;
  if (!one) return null;
  if (!mr) return { status: 404, body: { message: '404 Not found' } };
  // An open one is answered by the merge request route above the block (its authors, for four eyes).
  if (!one[2]) return (mr.state ?? 'opened') === 'opened' ? null : { status: 200, body: mergeRequestJson(p, mr) };
  return {
    status: 200,
    body: mr.statusChecks.map((c) => ({ id: c.id, name: c.name, external_url: c.externalUrl, status: fake.statusOf(p.id, mr.iid, c.id, mr.sha) ?? 'pending' })),
  };
}

// --- end of the listings -------------------------------------------------------------------
