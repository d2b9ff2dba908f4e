import express, { type Request, type Response, type Router } from 'express';
import { isOutcome, type Actor, type Check } from '../domain/check.js';
import type { Gate } from '../gate.js';
import { wellFormedFields } from '../well-formed.js';
import { basicAuthName, basicAuthUser, CsrfTokens, type WebUser } from './auth.js';
import { oauthRouter, sessionCsrfSubject, type Admits, type GitLabSignIn } from './oauth.js';
import { auditRange, streamAudit } from './audit.js';
import { FAVICON, SCRIPT, STYLE } from './assets.js';
import { parseListQuery, STATE_FILTERS, type ListQuery } from './list-query.js';
import { historyPage, listPage, messagePage, signInPage, type ListSection, type ListView, type SignedInUser } from './page.js';
import { CookieSeal, Sessions } from './session.js';
import { MAX_FAILURES, PasswordThrottle, WINDOW_SECONDS } from './throttle.js';

export interface WebOptions {
  gate: Gate;
  basePath: string;
  users: readonly WebUser[];
  clock: () => Date;
  csrf?: CsrfTokens;
  /** Sign in with GitLab; null or absent when off. */
  gitlabSignIn?: (GitLabSignIn & { sessionSecret: string }) | null;
  /** Which GitLab accounts Sign in with GitLab lets in; nobody unless told. */
  admits?: Admits;
}

/** The person behind a request, in the forms the page, the CSRF check and the gate need. */
interface Visitor {
  user: SignedInUser;
  csrfSubject: string;
  actor: Actor;
}

const NOTICES: Record<string, string> = {
  approved: 'Approved. The decision is on its way to GitLab and the Slack card.',
  counted: 'Your approval is counted. The check needs more approvals, from different people.',
  rejected: 'Rejected. The decision is on its way to GitLab and the Slack card.',
  break_glass: 'Approved during the freeze (break glass). Your reason goes on the merge request; the decision is on its way to GitLab.',
};

/** The built-in web list: a mirror of the table, and a way to decide when Slack is away. */
export function webRouter({ gate, basePath, users, clock, csrf = new CsrfTokens(), gitlabSignIn = null, admits = () => false }: WebOptions): Router {
  const router = express.Router();
  let sessions: Sessions | null = null;
  if (gitlabSignIn) {
    const seal = new CookieSeal(gitlabSignIn.sessionSecret);
    // A browser drops Secure cookies on plain http, which a local PUBLIC_URL may be.
    const secure = !gitlabSignIn.redirectUri.startsWith('http:');
    sessions = new Sessions({ seal, path: basePath || '/', secure, clock });
    router.use(oauthRouter({ signIn: gitlabSignIn, admits, seal, sessions, csrf, basePath, secure, clock, onSignIn: (person) => gate.sawGitLabAccount(person) }));
  }

  // Guessing WEB_USERS passwords: after too many wrong ones from an address or for a name,
  // that address or name waits. Checked before the password, so a blocked guess learns nothing.
  const throttle = new PasswordThrottle();
  router.use(async (req, res, next) => {
    const header = req.get('authorization');
    const name = users.length > 0 ? basicAuthName(header) : null;
    if (name === null) return next();
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = await throttle.waitSeconds(address, name);
    if (wait > 0) {
      res
        .status(429)
        .set('Retry-After', String(wait))
        .type('html')
        .send(
          messagePage(
            'Too many wrong passwords',
            basePath,
            `Too many wrong passwords from this address or for this name (${MAX_FAILURES} within ${WINDOW_SECONDS / 60} minutes). Try again in ${wait} seconds.`,
          ),
        );
      return;
    }
    if (!basicAuthUser(header, users) && (await throttle.failed(address, name))) {
      // Once per limit reached, not per refused request: a flood must not flood the log too.
      req.log.warn({ address }, `web list: ${MAX_FAILURES} wrong passwords from this address or for one name; refusing them for ${WINDOW_SECONDS / 60} minutes`);
    }
    next();
  });

  router.get('/assets/style.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(STYLE);
  });
  router.get('/assets/list.js', (_req, res) => {
    res.type('text/javascript').set('Cache-Control', 'public, max-age=3600').send(SCRIPT);
  });
  router.get('/assets/favicon.svg', (_req, res) => {
    res.type('image/svg+xml').set('Cache-Control', 'public, max-age=86400').send(FAVICON);
  });

  const PAGE_SIZE = 50;
  const RECENT_ON_FRONT = 10;
  /** The front page: what waits, then a glimpse of recent decisions. A state: that list, page by page. */
  const listView = async (query: ListQuery): Promise<ListView> => {
    const mark = await gate.changeMark();
    const sectionOf = async (state: ListSection['state'], limit: number, after = query.after): Promise<ListSection> => {
      const found = await gate.listChecks({ states: STATE_FILTERS[state].states, q: query.q, after, limit });
      return { state, checks: found.checks, total: found.total, next: found.next };
    };
    const sections = query.state ? [await sectionOf(query.state, PAGE_SIZE)] : [await sectionOf('pending', PAGE_SIZE), await sectionOf('decided', RECENT_ON_FRONT)];
    return { query, sections, mark };
  };
  const wantsComment = (check: Check) => gate.wantsComment(check);

  /** A GitLab session wins; then HTTP Basic against WEB_USERS. Answers the request itself when neither. */
  const signedIn = (req: Request, res: Response): Visitor | null => {
    // Asked again on every request: someone the policy no longer names is out at the next restart.
    const session = sessions?.read(req);
    if (session && admits(session)) {
      const { username, name, email, userId } = session;
      return {
        user: { name, gitlabUsername: username },
        csrfSubject: sessionCsrfSubject(session),
        actor: { via: 'web', login: 'gitlab', id: username, name, email, gitlabUsername: username, gitlabUserId: userId ?? null },
      };
    }
    if (users.length === 0 && !sessions) {
      res
        .status(404)
        .type('html')
        .send(
          messagePage(
            'The web list is off',
            basePath,
            'Set WEB_USERS=name:password (comma-separated for several people), or set up Sign in with GitLab (GITLAB_OAUTH_CLIENT_ID, GITLAB_OAUTH_CLIENT_SECRET, SESSION_SECRET), and restart the bot to turn it on.',
          ),
        );
      return null;
    }
    const name = basicAuthUser(req.get('authorization'), users);
    if (name) return { user: { name, gitlabUsername: null }, csrfSubject: name, actor: { via: 'web', login: 'password', id: name, name, email: null, gitlabUsername: null } };
    if (sessions && users.length === 0 && req.method === 'GET') {
      res.set('Cache-Control', 'no-store').redirect(302, `${basePath}/auth/login`);
      return null;
    }
    // Without the header a browser never offers its name and password prompt.
    if (users.length > 0) res.set('WWW-Authenticate', 'Basic realm="GitLab approvals", charset="UTF-8"');
    res
      .status(401)
      .type('html')
      .send(signInPage(basePath, { gitlab: sessions !== null, basic: users.length > 0 }));
    return null;
  };

  router.get('/', async (req, res) => {
    const visitor = signedIn(req, res);
    if (!visitor) return;
    const notice = typeof req.query.notice === 'string' ? (NOTICES[req.query.notice] ?? null) : null;
    const query = parseListQuery(req.query as Record<string, unknown>);
    if ('error' in query) {
      res.status(400).type('html').send(messagePage('Cannot show that list', basePath, query.error));
      return;
    }
    const view = await listView(query);
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(listPage(view, { basePath, user: visitor.user, csrf: csrf.issue(visitor.csrfSubject, clock().getTime()), notice, error: null, wantsComment, freezeOf: (check) => gate.frozenNow(check) }));
  });

  /** What an open list polls: a stamp of the newest change, small enough to ask for every few seconds. */
  router.get('/changes', async (req, res) => {
    const visitor = signedIn(req, res);
    if (!visitor) return;
    res.set('Cache-Control', 'no-store').json({ mark: await gate.changeMark() });
  });

  router.post('/checks/:id/:outcome', express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 }), async (req, res) => {
    const visitor = signedIn(req, res);
    if (!visitor) return;
    const emergency = req.params.outcome === 'emergency';
    const outcome = emergency ? 'approve' : req.params.outcome;
    const id = Number(req.params.id);
    // Lone surrogates become U+FFFD before anything is stored.
    const form = wellFormedFields((req.body ?? {}) as Record<string, unknown>);
    const send = (status: number, title: string, message: string) =>
      res.status(status).type('html').send(messagePage(title, basePath, message));
    if (!isOutcome(outcome)) return send(404, 'Not found', `“${String(outcome).slice(0, 40)}” is not an outcome: a check is decided with approve or reject.`);
    if (!Number.isInteger(id)) return send(404, 'Not found', 'There is no such page.');
    if (req.get('sec-fetch-site') === 'cross-site' || !csrf.verify(visitor.csrfSubject, form.csrf, clock().getTime())) {
      return send(403, 'Form expired', 'This form is too old or did not come from this page. Reload the list and try again.');
    }
    const reason = typeof form.reason === 'string' && form.reason.trim() !== '' ? form.reason : null;
    if (emergency) {
      if (!reason) return send(400, 'Reason needed', 'An emergency approval needs a reason: it is posted on the merge request and kept in the audit trail. Write one and try again.');
      const result = await gate.emergencyApprove(id, visitor.actor, reason);
      if (!result.ok) return send(result.code === 'not_found' ? 404 : result.code === 'not_allowed' ? 403 : 409, 'Not recorded', result.message);
      return res.redirect(303, `${basePath}/?notice=break_glass#check-${id}`);
    }
    const wantsComment = outcome === 'approve' && (await gate.wantsApprovalComment(id));
    const result = await gate.decide(id, outcome, visitor.actor, outcome === 'reject' || wantsComment ? reason : null);
    if (!result.ok) {
      const status = result.code === 'not_found' ? 404 : result.code === 'not_allowed' ? 403 : result.code === 'comment_required' ? 422 : 409;
      return send(status, result.code === 'comment_required' ? 'Comment needed' : 'Not recorded', result.message);
    }
    const notice = result.counted ? 'counted' : outcome === 'approve' ? 'approved' : 'rejected';
    res.redirect(303, `${basePath}/?notice=${notice}#check-${id}`);
  });

  router.get('/checks/:id', async (req, res) => {
    const visitor = signedIn(req, res);
    if (!visitor) return;
    const check = /^\d{1,15}$/.test(req.params.id) ? await gate.check(Number(req.params.id)) : null;
    if (!check) {
      res.status(404).type('html').send(messagePage('Not found', basePath, 'There is no such check.'));
      return;
    }
    const events = await gate.history({ from: new Date(0), to: new Date(clock().getTime() + 1000), checkId: check.id });
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(historyPage(check, events, { basePath, user: visitor.user, csrf: csrf.issue(visitor.csrfSubject, clock().getTime()), notice: null, error: null, wantsComment }));
  });

  /**
   * The audit trail for a time range, as CSV (default) or JSON: `?from=2026-11-01&to=2026-12-01&format=json`.
   * `?check=12` narrows it to one check, over its whole life unless `from` says otherwise.
   */
  router.get('/audit', async (req, res) => {
    const visitor = signedIn(req, res);
    if (!visitor) return;
    const format = req.query.format ?? 'csv';
    if (format !== 'csv' && format !== 'json') {
      res.status(400).json({ error: 'format must be csv or json' });
      return;
    }
    const checkParam = req.query.check;
    if (checkParam !== undefined && (typeof checkParam !== 'string' || !/^\d{1,15}$/.test(checkParam))) {
      res.status(400).json({ error: 'check must be the number of one check, as in /audit?check=12 (the number in its history page’s address)' });
      return;
    }
    const checkId = checkParam === undefined ? undefined : Number(checkParam);
    if (checkId !== undefined && !(await gate.check(checkId))) {
      res.status(404).json({ error: `There is no check ${checkId}.` });
      return;
    }
    const query = req.query as Record<string, unknown>;
    const range = auditRange(checkId === undefined ? query : { from: '1970-01-01', ...query }, clock());
    if ('error' in range) {
      res.status(400).json({ error: range.error });
      return;
    }
    const name =
      checkId === undefined
        ? `audit-${range.from.toISOString().slice(0, 10)}-${range.to.toISOString().slice(0, 10)}.${format}`
        : `audit-check-${checkId}.${format}`;
    res.set('Cache-Control', 'no-store').attachment(name);
    res.type(format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8');
    const head = { from: range.from, to: range.to, ...(checkId === undefined ? {} : { check: checkId }) };
    try {
      await streamAudit(res, format, head, gate.historyBatches({ ...range, checkId }));
    } catch (error) {
      // Part of the export is sent: a truncated file must not look complete, so the connection is cut.
      req.log.error({ error: (error as Error).message }, 'the audit export failed while it was written');
      res.destroy();
    }
  });

  return router;
}
