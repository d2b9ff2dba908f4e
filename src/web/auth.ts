import crypto from 'node:crypto';

export interface WebUser {
  name: string;
  password: string;
}

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();

/** The name an HTTP Basic header offers, right or wrong; null when there is no such header. */
export function basicAuthName(header: string | undefined): string | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  return at < 0 ? decoded : decoded.slice(0, at);
}

/**
 * Checks HTTP Basic credentials against WEB_USERS in constant time: every entry is compared,
 * and comparisons are over fixed-length digests, so timing tells nothing about names or passwords.
 */
export function basicAuthUser(header: string | undefined, users: readonly WebUser[]): string | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  if (at < 0) return null;
  const name = digest(decoded.slice(0, at));
  const password = digest(decoded.slice(at + 1));
  let found: string | null = null;
  for (const user of users) {
    const nameOk = crypto.timingSafeEqual(name, digest(user.name));
    const passwordOk = crypto.timingSafeEqual(password, digest(user.password));
    if (nameOk && passwordOk) found = user.name;
  }
  return found;
}

/**
 * CSRF tokens for the web list's forms: an HMAC of the signed-in user and the time of
 * issue. Stateless, bound to the user, valid for `ttlMs`. Basic auth makes browsers send
 * credentials to any site's form post, so every POST must carry one.
 */
export class CsrfTokens {
  readonly #key: Buffer;

  constructor(
    key: Buffer = crypto.randomBytes(32),
    readonly ttlMs = 12 * 60 * 60_000,
  ) {
    this.#key = key;
  }

  issue(user: string, now: number): string {
    return `${now}.${this.#mac(user, now)}`;
  }

  verify(user: string, token: unknown, now: number): boolean {
    if (typeof token !== 'string') return false;
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const issued = Number(match[1]);
    if (now - issued > this.ttlMs || issued - now > 60_000) return false;
    return crypto.timingSafeEqual(Buffer.from(match[2] as string), Buffer.from(this.#mac(user, issued)));
  }

  #mac(user: string, issued: number): string {
    return crypto.createHmac('sha256', this.#key).update(`${issued}\n${user}`).digest('base64url');
  }
}
