import crypto from 'node:crypto';
import type { Request, Response } from 'express';

/** Someone signed in with GitLab, as the session cookie remembers them. */
export interface Session {
  username: string;
  name: string;
  email: string | null;
  /** GitLab's numeric user id (absent from sessions started before it was kept). */
  userId?: number | null;
}

export const SESSION_COOKIE = 'approvals_session';
export const SESSION_TTL_MS = 8 * 60 * 60_000;

/** The value of one cookie of the request, as sent. */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * Cookie values sealed with AES-256-GCM under a key derived from SESSION_SECRET: a browser
 * can keep them but can neither read nor change them. Each carries its expiry inside, so
 * an old value is refused even when a browser ignores Max-Age.
 */
export class CookieSeal {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', secret, 'gitlab-approval-bot', 'cookie seal', 32));
  }

  /** `purpose` (the cookie's name) is authenticated too, so one cookie cannot stand in for another. */
  seal(purpose: string, payload: Record<string, unknown>, expiresAt: number): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(purpose));
    const sealed = Buffer.concat([cipher.update(JSON.stringify({ ...payload, exp: expiresAt }), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  /** The payload, or null when the value is missing, altered, sealed for another purpose or expired. */
  open(purpose: string, value: string | undefined, now: number): Record<string, unknown> | null {
    if (!value || !/^[A-Za-z0-9_-]{40,4096}$/.test(value)) return null;
    const raw = Buffer.from(value, 'base64url');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(purpose));
      decipher.setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      const payload = JSON.parse(text) as Record<string, unknown> | null;
      if (typeof payload !== 'object' || payload === null || typeof payload.exp !== 'number' || payload.exp <= now) return null;
      return payload;
    } catch {
      return null;
    }
  }
}

export interface SessionOptions {
  seal: CookieSeal;
  /** BASE_PATH, or / without one. */
  path: string;
  /** False only when PUBLIC_URL is plain http (a browser would drop a Secure cookie there). */
  secure: boolean;
  clock: () => Date;
}

/**
 * Sessions of people signed in with GitLab, kept in the browser only: a sealed cookie with
 * the GitLab username, name and e-mail, for 8 hours. No GitLab token is kept.
 */
export class Sessions {
  readonly #o: SessionOptions;

  constructor(options: SessionOptions) {
    this.#o = options;
  }

  read(req: Request): Session | null {
    const payload = this.#o.seal.open(SESSION_COOKIE, readCookie(req, SESSION_COOKIE), this.#o.clock().getTime());
    if (!payload || typeof payload.username !== 'string' || !payload.username || typeof payload.name !== 'string') return null;
    const userId = Number.isSafeInteger(payload.userId) ? (payload.userId as number) : null;
    return { username: payload.username, name: payload.name || payload.username, email: typeof payload.email === 'string' ? payload.email : null, userId };
  }

  start(res: Response, session: Session): void {
    const value = this.#o.seal.seal(SESSION_COOKIE, { ...session }, this.#o.clock().getTime() + SESSION_TTL_MS);
    res.cookie(SESSION_COOKIE, value, { ...this.#attributes(), maxAge: SESSION_TTL_MS });
  }

  end(res: Response): void {
    res.clearCookie(SESSION_COOKIE, this.#attributes());
  }

  #attributes() {
    // Lax, not Strict: the redirect back from GitLab is a top-level navigation from another site.
    return { httpOnly: true, secure: this.#o.secure, sameSite: 'lax' as const, path: this.#o.path };
  }
}
