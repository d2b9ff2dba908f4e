/**
 * Slack mrkdwn treats `<`, `>` and `&` as control characters (`<!channel>`, `<@U123>`,
 * `<url|text>`). Everything a user typed goes through `escape` before it reaches a message.
 */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes what someone typed, then shortens it to at most `max` characters as Slack counts
 * them (after escaping: Block Kit limits count `&amp;` as five). Never cuts an escape or a
 * character in two, so `&amp;` is kept whole or dropped whole. Use it for every user- or
 * GitLab-supplied piece of a block.
 */
export function fit(text: string, max: number): string {
  const escaped = escape(text);
  const chars = [...escaped];
  if (chars.length <= max) return escaped;
  // An escape cut short (`&am`) would show as garbage: drop the partial one.
  return `${chars.slice(0, max - 1).join('').replace(/&[a-z]*$/, '')}…`;
}

/** Most characters of a private reply: a sentence or two, not an essay (Slack's own cap is 40,000). */
export const MAX_REPLY = 3000;

/**
 * A private reply's `text`, which Slack reads as mrkdwn: the bot's sentences carry names people
 * chose (a GitLab or Slack name, a rule in the policy file), so the whole text is escaped.
 */
export function replyText(text: string): string {
  return fit(text, MAX_REPLY);
}

/** Longest URL put in a link; a longer one would crowd the text out of its block. */
export const MAX_LINK_URL = 800;

/**
 * A link whose URL cannot break out of `<url|text>` and whose text is escaped and fitted to
 * `maxText`. A URL that is not http(s), or longer than MAX_LINK_URL, leaves the text unlinked.
 */
export function link(url: string, text: string, maxText = 300): string {
  const shown = fit(text, maxText);
  if (!/^https?:\/\//i.test(url)) return shown;
  const safeUrl = url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c));
  if ([...safeUrl].length > MAX_LINK_URL) return shown;
  // In link text a `|` would end nothing, but `>` would: fit escapes it.
  return `<${safeUrl}|${shown}>`;
}

/** Shortens plain text (not yet escaped), never splitting a character. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** A timestamp every reader sees in their own time zone, with a plain fallback. */
export function when(date: Date): string {
  const unix = Math.floor(date.getTime() / 1000);
  const fallback = date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return `<!date^${unix}^{date_short_pretty} at {time}|${fallback}>`;
}
