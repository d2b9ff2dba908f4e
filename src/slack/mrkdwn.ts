/**
 * Slack mrkdwn treats `<`, `>` and `&` as control characters (`<!channel>`, `<@U123>`,
 * `<url|text>`). Everything a user typed goes through `escape` before it reaches a message.
 */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A link whose URL cannot break out of `<url|text>` and whose text is escaped. */
export function link(url: string, text: string): string {
  if (!/^https?:\/\//i.test(url)) return escape(text);
  const safeUrl = url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c));
  // In link text a `|` would end nothing, but `>` would: escape covers it.
  return `<${safeUrl}|${escape(text)}>`;
}

/** Shortens text for a block, keeping it readable. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A timestamp every reader sees in their own time zone, with a plain fallback. */
export function when(date: Date): string {
  const unix = Math.floor(date.getTime() / 1000);
  const fallback = date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return `<!date^${unix}^{date_short_pretty} at {time}|${fallback}>`;
}

/**
 * Escapes, then shortens to at most `max` characters without cutting an escape in two:
 * limits count characters after escaping, and half an `&amp;` would show as text.
 */
export function escapeShort(text: string, max: number): string {
  const escaped = escape(text);
  if (escaped.length <= max) return escaped;
  let cut = max - 1;
  const amp = escaped.lastIndexOf('&', cut);
  if (amp !== -1 && escaped.indexOf(';', amp) >= cut) cut = amp;
  return `${escaped.slice(0, cut)}…`;
}
