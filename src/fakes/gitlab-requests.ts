import crypto from 'node:crypto';

/** Requests that drive the bot as GitLab does: status check calls, signed like GitLab's. */

/** Signs a body the way GitLab signs status check calls: hex HMAC-SHA256 with the shared secret. */
export function gitlabSignature(body: string | Buffer, secret: string): string {
  return crypto.createHmac('sha256', secret).update(body).digest('hex');
}

/** Sends a status check call to the bot, signed when a secret is given. */
export async function sendStatusCheck(url: string, payload: unknown, secret: string | null): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers['x-gitlab-signature'] = gitlabSignature(body, secret);
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
