import { basic, type Harness } from './harness.js';

/** The hidden CSRF field of the list's forms, as a browser would submit it. */
export function csrfOf(html: string): string {
  const match = /<input type="hidden" name="csrf" value="([^"]+)">/.exec(html);
  if (!match) throw new Error(`no CSRF field on the page:\n${html.slice(0, 1000)}`);
  return match[1] as string;
}

/** Posts a decision form of the web list, as it is (tests choose the fields, CSRF included). */
export async function submitDecision(h: Harness, id: number, outcome: 'approve' | 'reject', fields: Record<string, string>, authorization = basic()) {
  const res = await fetch(`${h.bot.url}/checks/${id}/${outcome}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

/** Decides on the web list as a person would: open the list, then submit its form. */
export async function decideOnWeb(h: Harness, id: number, outcome: 'approve' | 'reject', options: { authorization?: string; reason?: string } = {}) {
  const authorization = options.authorization ?? basic();
  const list = await fetch(`${h.bot.url}/`, { headers: { authorization } });
  const csrf = csrfOf(await list.text());
  return submitDecision(h, id, outcome, options.reason === undefined ? { csrf } : { csrf, reason: options.reason }, authorization);
}
