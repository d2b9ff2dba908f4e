import crypto from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { CsrfTokens } from './auth.js';
import { messagePage } from './page.js';
import { readCookie, type CookieSeal, type Session, type Sessions } from './session.js';
import { storable } from '../well-formed.js';

/** Sign in with GitLab: the GitLab application the bot signs people in through. */
export interface GitLabSignIn {
  gitlabUrl: string;
  clientId: string;
  clientSecret: string;
  /** `${PUBLIC_URL}${BASE_PATH}/auth/callback`, exactly as registered with the GitLab application. */
  redirectUri: string;
  timeoutMs: number;
}

/** Someone GitLab has signed in, as far as GitLab vouches: the e-mail only once it is confirmed. */
export interface GitLabPerson {
  username: string;
  email: string | null;
}

/** Whether a GitLab account may use the web list: the policy names it as an approver. */
export type Admits = (person: GitLabPerson) => boolean;

export interface OAuthOptions {
  signIn: GitLabSignIn;
  admits: Admits;
  seal: CookieSeal;
  sessions: Sessions;
  csrf: CsrfTokens;
  basePath: string;
  secure: boolean;
  clock: () => Date;
  /** Told of each admitted sign-in before the session starts (what identifies the account is kept). */
  onSignIn?: (session: Session) => Promise<void>;
}

/** Holds the state and PKCE verifier between the way out to GitLab and the way back. */
const LOGIN_COOKIE = 'approvals_login';
const LOGIN_TTL_MS = 10 * 60_000;

/** What CSRF tokens of a GitLab session are bound to; WEB_USERS names cannot contain a colon. */
export const sessionCsrfSubject = (session: Session): string => `gitlab:${session.username}`;

const random = (): string => crypto.randomBytes(32).toString('base64url');
const challengeOf = (verifier: string): string => crypto.createHash('sha256').update(verifier).digest('base64url');
const digest = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();
const sameSecret = (a: string, b: string): boolean => crypto.timingSafeEqual(digest(a), digest(b));

/** A sign-in that cannot go on, with the status and the sentence to show. */
class SignInFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Trades the authorization code (and the PKCE verifier) for an access token. */
async function exchangeCode(o: GitLabSignIn, code: string, verifier: string): Promise<string> {
  const res = await fetch(`${o.gitlabUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      client_id: o.clientId,
      client_secret: o.clientSecret,
      code,
      grant_type: 'authorization_code',
      redirect_uri: o.redirectUri,
      code_verifier: verifier,
    }),
    signal: AbortSignal.timeout(o.timeoutMs),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown };
  if (body.error === 'invalid_client') {
    throw new SignInFailed(502, 'GitLab does not accept this bot’s application ID and secret: check GITLAB_OAUTH_CLIENT_ID and GITLAB_OAUTH_CLIENT_SECRET.');
  }
  if (!res.ok) {
    const why = typeof body.error_description === 'string' ? body.error_description : typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    throw new SignInFailed(res.status < 500 ? 400 : 502, `GitLab refused the sign-in: ${why}`);
  }
  if (typeof body.access_token !== 'string' || !body.access_token) throw new SignInFailed(502, 'GitLab answered without an access token.');
  return body.access_token;
}

/**
 * Who the access token belongs to. The e-mail is kept only when GitLab says the account
 * confirmed it (`confirmed_at`): anyone can type any address into a new account.
 */
async function fetchUser(o: GitLabSignIn, accessToken: string): Promise<Session> {
  const res = await fetch(`${o.gitlabUrl}/api/v4/user`, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    signal: AbortSignal.timeout(o.timeoutMs),
  });
  if (!res.ok) throw new SignInFailed(502, `GitLab did not say who signed in (HTTP ${res.status} from /api/v4/user).`);
  const user = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? storable(v.trim()) : null);
  const username = text(user.username);
  if (!username) throw new SignInFailed(502, 'GitLab did not say who signed in (no username from /api/v4/user).');
  if (user.state !== undefined && user.state !== 'active') throw new SignInFailed(403, `The GitLab account ${username} is ${String(user.state)}.`);
  const confirmed = typeof user.confirmed_at === 'string' && user.confirmed_at !== '';
  const userId = Number.isSafeInteger(user.id) ? (user.id as number) : null;
  return { username, name: text(user.name) ?? username, email: confirmed ? (text(user.email) ?? text(user.public_email)) : null, userId };
}

/** `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout`: OAuth 2 with PKCE against GITLAB_URL. */
export function oauthRouter({ signIn, admits, seal, sessions, csrf, basePath, secure, clock, onSignIn }: OAuthOptions): Router {
  const router = express.Router();
  const loginCookie = { httpOnly: true, secure, sameSite: 'lax' as const, path: `${basePath}/auth` };

  router.get('/auth/login', (_req, res) => {
    const state = random();
    const verifier = random();
    res.cookie(LOGIN_COOKIE, seal.seal(LOGIN_COOKIE, { state, verifier }, clock().getTime() + LOGIN_TTL_MS), { ...loginCookie, maxAge: LOGIN_TTL_MS });
    const query = new URLSearchParams({
      client_id: signIn.clientId,
      redirect_uri: signIn.redirectUri,
      response_type: 'code',
      state,
      scope: 'read_user',
      code_challenge: challengeOf(verifier),
      code_challenge_method: 'S256',
    });
    res.set('Cache-Control', 'no-store').redirect(302, `${signIn.gitlabUrl}/oauth/authorize?${query}`);
  });

  router.get('/auth/callback', async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    // The state and verifier serve one attempt, whatever its outcome.
    res.clearCookie(LOGIN_COOKIE, loginCookie);
    try {
      const started = seal.open(LOGIN_COOKIE, readCookie(req, LOGIN_COOKIE), clock().getTime());
      if (!started || typeof started.state !== 'string' || typeof started.verifier !== 'string') {
        throw new SignInFailed(400, 'This sign-in was not started from this browser, or took longer than 10 minutes. Start again.');
      }
      const { state, code, error, error_description: description } = req.query;
      if (typeof state !== 'string' || !sameSecret(state, started.state)) {
        throw new SignInFailed(400, 'The answer from GitLab does not belong to the sign-in this browser started (the state does not match), so it was refused.');
      }
      if (typeof error === 'string') throw new SignInFailed(400, `GitLab did not sign you in: ${typeof description === 'string' ? description : error}`);
      if (typeof code !== 'string' || !code) throw new SignInFailed(400, 'GitLab sent no authorization code. Start again.');
      const session = await fetchUser(signIn, await exchangeCode(signIn, code, started.verifier));
      // Every account of GITLAB_URL can get this far (all of gitlab.com by default): only approvers go on.
      if (!admits(session)) {
        req.log.warn({ gitlabUsername: session.username }, 'sign-in with GitLab refused: not an approver');
        res
          .status(403)
          .type('html')
          .send(
            messagePage(
              'Not an approver',
              basePath,
              `Your GitLab account is not an approver here (you are @${session.username} on GitLab). Ask the people who run this bot to name you as an approver.`,
              { href: signIn.gitlabUrl, text: 'Back to GitLab' },
            ),
          );
        return;
      }
      try {
        await onSignIn?.(session);
      } catch (error) {
        // Without the record, an e-mail this account shows now could not link it to another later.
        req.log.error({ error: (error as Error).message }, 'sign-in with GitLab: could not record who signed in');
        throw new SignInFailed(503, 'The bot cannot write to its database just now, so you were not signed in. Try again in a minute.');
      }
      sessions.start(res, session);
      req.log.info({ gitlabUsername: session.username }, 'signed in with GitLab');
      res.redirect(302, `${basePath}/`);
    } catch (failure) {
      const known = failure instanceof SignInFailed;
      const status = known ? failure.status : 502;
      const message = known ? failure.message : `GitLab could not be reached at ${signIn.gitlabUrl}: ${(failure as Error).message}`;
      req.log.warn({ status, reason: message }, 'sign-in with GitLab failed');
      res
        .status(status)
        .type('html')
        .send(messagePage('Sign-in failed', basePath, message, { href: `${basePath}/auth/login`, text: 'Sign in with GitLab again' }));
    }
  });

  router.post('/auth/logout', express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 }), (req, res) => {
    const session = sessions.read(req);
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (session && (req.get('sec-fetch-site') === 'cross-site' || !csrf.verify(sessionCsrfSubject(session), form.csrf, clock().getTime()))) {
      res
        .status(403)
        .type('html')
        .send(messagePage('Form expired', basePath, 'This form is too old or did not come from this page. Reload the list and try again.'));
      return;
    }
    sessions.end(res);
    res.redirect(303, `${basePath}/auth/signed-out`);
  });

  router.get('/auth/signed-out', (_req, res) => {
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(
        messagePage('Signed out', basePath, 'You are signed out of the approvals list. GitLab still knows you: sign out there too on a shared computer.', {
          href: `${basePath}/auth/login`,
          text: 'Sign in with GitLab',
        }),
      );
  });

  return router;
}
