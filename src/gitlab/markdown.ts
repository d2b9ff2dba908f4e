/**
 * Text that people typed (a reason, a comment, a display name), made safe to post in a GitLab
 * note: shown as written, never run. GitLab would otherwise notify whoever it mentions
 * (`@all` pings every member), run a quick action on any line that starts with `/`
 * (`/merge`, `/close`), render HTML and Markdown that can forge what the bot said, and link
 * references that leave "mentioned in" notes elsewhere.
 */

/** After `@`, so that GitLab sees no user or group name there; invisible when read. */
const ZERO_WIDTH_JOINER = '\u200D';

/** Every line break GitLab or a browser might honour becomes `\n`, so each line is seen and quoted. */
const lines = (text: string): string[] => text.replace(/\r\n|[\r\v\f\u0085\u2028\u2029]/g, '\n').split('\n');

/** Control and bidirectional-override characters: they hide or reorder what a reader sees. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Markdown and HTML characters, and the prefixes of GitLab references (`#` issues, `!` merge
 * requests, `~` labels, `%` milestones, `$` snippets, `&` epics), escaped with a backslash so
 * they render as themselves.
 */
const MARKUP = /[\\`*_{}[\]()<>#!|~$%&^]/g;

function literal(line: string): string {
  return line
    .replace(INVISIBLE, '')
    .replace(MARKUP, (c) => `\\${c}`)
    .replace(/@/g, `@${ZERO_WIDTH_JOINER}`)
    // A list, heading or rule marker at the start of a line.
    .replace(/^(\s*)([-+=]|\d+[.)])/, (_m, space: string, marker: string) => `${space}${marker.replace(/([-+=.)])$/, '\\$1')}`);
}

/** One line of plain text (a name), with no line breaks left. */
export function gitlabText(text: string): string {
  return literal(lines(text).join(' ').replace(/\s+/g, ' ').trim());
}

/**
 * A block quote of plain text. Every line starts with `> `, which no quick action does (GitLab
 * runs a command only where a line starts with `/`), and nothing inside renders as markup.
 */
export function gitlabQuote(text: string): string {
  return lines(text)
    .map((line) => `> ${literal(line)}`.trimEnd())
    .join('\n');
}

/**
 * Inline code: GitLab renders whatever it holds as text (no Markdown, HTML, mentions or
 * links). For names quoted inside a sentence of the bot's own (a rule, a status check).
 */
export function gitlabCode(text: string): string {
  const flat = text.replace(INVISIBLE, '').replace(/\s+/g, ' ');
  const fence = '`'.repeat(Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}
