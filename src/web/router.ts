import express, { type Request, type Response, type Router } from 'express';
import type { Outcome } from '../domain/check.js';
import type { Gate } from '../gate.js';
import { basicAuthUser, CsrfTokens, type WebUser } from './auth.js';
import { listPage, messagePage, STYLE } from './page.js';

export interface WebOptions {
  gate: Gate;
  basePath: string;
  users: readonly WebUser[];
  clock: () => Date;
  csrf?: CsrfTokens;
}

const NOTICES: Record<string, string> = {
  approved: 'Approved. The decision is on its way to GitLab and the Slack card.',
  rejected: 'Rejected. The decision is on its way to GitLab and the Slack card.',
};

/** The built-in web list: a mirror of the table, and a way to decide when Slack is away. */
export function webRouter({ gate, basePath, users, clock, csrf = new CsrfTokens() }: WebOptions): Router {
  const router = express.Router();

  router.get('/assets/style.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(STYLE);
  });

  const signedIn = (req: Request, res: Response): string | null => {
    if (users.length === 0) {
      res
        .status(404)
        .type('html')
        .send(messagePage('The web list is off', basePath, 'Set WEB_USERS=name:password (comma-separated for several people) and restart the bot to turn it on.'));
      return null;
    }
    const user = basicAuthUser(req.get('authorization'), users);
    if (!user) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Basic realm="GitLab approvals", charset="UTF-8"')
        .type('html')
        .send(messagePage('Sign in required', basePath, 'Sign in with a name and password from WEB_USERS.'));
    }
    return user;
  };

  router.get('/', (req, res) => {
    const user = signedIn(req, res);
    if (!user) return;
    const notice = typeof req.query.notice === 'string' ? (NOTICES[req.query.notice] ?? null) : null;
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(listPage(gate.overview(100), { basePath, user, csrf: csrf.issue(user, clock().getTime()), notice, error: null }));
  });

  router.post('/checks/:id/:outcome', express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 }), async (req, res) => {
    const user = signedIn(req, res);
    if (!user) return;
    const outcome = ({ approve: 'approve', reject: 'reject' } as Record<string, Outcome>)[req.params.outcome as string];
    const id = Number(req.params.id);
    const form = (req.body ?? {}) as Record<string, unknown>;
    const send = (status: number, title: string, message: string) =>
      res.status(status).type('html').send(messagePage(title, basePath, message));
    if (!outcome || !Number.isInteger(id)) return send(404, 'Not found', 'There is no such page.');
    if (req.get('sec-fetch-site') === 'cross-site' || !csrf.verify(user, form.csrf, clock().getTime())) {
      return send(403, 'Form expired', 'This form is too old or did not come from this page. Reload the list and try again.');
    }
    const reason = typeof form.reason === 'string' ? form.reason : null;
    const result = await gate.decide(id, outcome, { via: 'web', id: user, name: user }, outcome === 'reject' ? reason : null);
    if (!result.ok) {
      return send(result.code === 'not_found' ? 404 : result.code === 'not_allowed' ? 403 : 409, 'Not recorded', result.message);
    }
    res.redirect(303, `${basePath}/?notice=${outcome === 'approve' ? 'approved' : 'rejected'}#check-${id}`);
  });

  return router;
}
