import { shortSha, type Check } from '../domain/check.js';
import { html, safeHref, type Safe } from './html.js';
import { listHref, STATE_FILTERS, type ListQuery, type StateFilter } from './list-query.js';
import type { CheckCursor } from '../ports.js';

/** Who is signed in: a GitLab session (with a Sign out button) or a WEB_USERS name. */
export interface SignedInUser {
  name: string;
  /** Set for a GitLab session. */
  gitlabUsername: string | null;
}

export interface PageContext {
  basePath: string;
  user: SignedInUser;
  csrf: string;
  notice: string | null;
  error: string | null;
  /** Whether the rule governing a check asks for a comment with each approval. */
  wantsComment?: (check: Check) => boolean;
  /** The freeze holding a check's approvals now (its reason, and whether anyone may break glass), or null. */
  freezeOf?: (check: Check) => { reason: string; breakGlass: boolean } | null;
}

/**
 * A time as the server knows it (UTC); the page's script rewrites it in the viewer's zone.
 * `precise` adds seconds, for history pages where order within a minute matters.
 */
function time(d: Date | null, precise = false): Safe {
  if (!d) return html``;
  const iso = d.toISOString();
  return html`<time datetime="${iso}"${precise ? html` class="precise"` : ''}>${iso.replace('T', ' ').slice(0, precise ? 19 : 16)} UTC</time>`;
}

const STATE_WORDS: Record<Check['state'], string> = {
  pending: 'Waiting',
  approved: 'Approved',
  rejected: 'Rejected',
  superseded: 'Superseded',
  closed: 'Closed',
  merged: 'Merged',
  stale: 'Stale',
};

/** What else to know about a check's state: quorum, the report to GitLab, the Slack card. */
function stateDetail(check: Check): string[] {
  const details: string[] = [];
  if (check.state === 'pending' && check.approvalsRequired > 1) details.push(`${check.approvals.length} of ${check.approvalsRequired} approvals`);
  if (check.state === 'superseded') details.push('a newer commit was pushed before anyone decided');
  if (check.state === 'stale') details.push('GitLab had a newer commit');
  const report: Record<Check['report'], string | null> = {
    none: null,
    sending: check.reportError ? `not in GitLab yet, retrying (${check.reportError})` : 'reporting to GitLab',
    reported: 'reported to GitLab',
    failed: `GitLab refused the report: ${check.reportError ?? 'no reason given'}`,
  };
  const sent = report[check.report];
  if (sent) details.push(sent);
  if (check.cardError) details.push(check.cardError);
  return details;
}

/** During a freeze: what holds approvals, and break glass, which always asks why. */
function freezeForm(check: Check, ctx: PageContext): Safe {
  const freeze = check.state === 'pending' ? (ctx.freezeOf?.(check) ?? null) : null;
  if (freeze === null) return html``;
  const line = html`<p class="freeze">Frozen: ${freeze.reason}. Approvals are refused until it ends; a rejection still counts.</p>`;
  if (!freeze.breakGlass) return line;
  return html`${line}
          <form method="post" action="${ctx.basePath}/checks/${check.id}/emergency">
            <input type="hidden" name="csrf" value="${ctx.csrf}">
            <input name="reason" maxlength="2000" required placeholder="Why it cannot wait (posted on the merge request)" aria-label="Reason for the emergency approval">
            <button class="emergency">Emergency approve</button>
          </form>`;
}

function stateCell(check: Check): Safe {
  const by = check.decidedByName
    ? html`<span class="by">by ${check.decidedByName}${check.decidedVia ? ` (${check.decidedVia})` : ''}</span>`
    : '';
  return html`<span class="badge ${check.state}">${STATE_WORDS[check.state]}</span>
        ${stateDetail(check).map((d) => html`<span class="detail">${d}</span>`)}${by}${check.reason ? html`<q>${check.reason}</q>` : ''}`;
}

function decideForms(check: Check, ctx: PageContext): Safe {
  if (check.state !== 'pending') return html``;
  const comment = ctx.wantsComment?.(check) ?? false;
  return html`<form class="approve" method="post" action="${ctx.basePath}/checks/${check.id}/approve">
            <input type="hidden" name="csrf" value="${ctx.csrf}">
            ${comment ? html`<input name="reason" maxlength="2000" required placeholder="Comment (this rule asks for one)" aria-label="Comment on the approval">` : ''}
            <button class="approve">Approve</button>
          </form>
          <form class="reject" method="post" action="${ctx.basePath}/checks/${check.id}/reject">
            <input type="hidden" name="csrf" value="${ctx.csrf}">
            <input name="reason" maxlength="2000" placeholder="Reason (optional)" aria-label="Reason for rejecting">
            <button class="reject">Reject</button>
          </form>`;
}

function row(check: Check, ctx: PageContext): Safe {
  return html`<tr class="${check.state}" id="check-${check.id}">
      <td class="mr"><a class="project" href="${safeHref(check.projectUrl)}">${check.projectPath}</a> <a class="iid" href="${safeHref(check.url)}">!${check.mergeRequestIid}</a>
        <span class="title">${check.title}${check.draft ? html` <span class="draft">draft</span>` : ''}</span></td>
      <td class="code"><code>${check.sourceBranch}</code> → <code>${check.targetBranch}</code>
        <a class="sha" href="${safeHref(`${check.projectUrl}/-/commit/${check.sha}`)}"><code>${shortSha(check.sha)}</code></a>
        <span class="rule">${check.statusCheckName}${check.ruleName ? ` · rule ${check.ruleName}` : ''}</span></td>
      <td class="state">${stateCell(check)}</td>
      <td class="when">${check.decidedAt ? 'decided ' : 'received '}${time(check.decidedAt ?? check.receivedAt)}</td>
      <td class="actions">${freezeForm(check, ctx)}${decideForms(check, ctx)}<a class="history" href="${ctx.basePath}/checks/${check.id}">History</a></td>
    </tr>`;
}

function table(checks: readonly Check[], ctx: PageContext, empty: string): Safe {
  if (checks.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table class="checks">
      <thead><tr><th class="mr">Merge request</th><th class="code">Branches and commit</th><th class="state">State</th><th class="when">When</th><th class="actions"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${checks.map((c) => row(c, ctx))}</tbody>
    </table>`;
}

const FAVICON_LINK = (basePath: string) => html`<link rel="icon" href="${basePath}/assets/favicon.svg" type="image/svg+xml">`;

function layout(title: string, basePath: string, body: Safe): string {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  ${FAVICON_LINK(basePath)}
  <link rel="stylesheet" href="${basePath}/assets/style.css">
  <script src="${basePath}/assets/list.js" defer></script>
</head>
<body>
${body}
</body>
</html>`.value;
}

function topBar(ctx: PageContext): Safe {
  const { name, gitlabUsername } = ctx.user;
  const who = gitlabUsername
    ? html`<div class="who">Signed in as <strong>${name}</strong> (@${gitlabUsername})
      <form method="post" action="${ctx.basePath}/auth/logout"><input type="hidden" name="csrf" value="${ctx.csrf}"><button class="sign-out">Sign out</button></form></div>`
    : html`<p class="who">Signed in as <strong>${name}</strong></p>`;
  return html`<header class="top"><a class="brand" href="${ctx.basePath}/"><img src="${ctx.basePath}/assets/favicon.svg" alt="" width="24" height="24"> GitLab approvals</a>${who}</header>`;
}

function searchForm(query: ListQuery, basePath: string): Safe {
  const option = (value: StateFilter | '', label: string) =>
    html`<option value="${value}"${(query.state ?? '') === value ? html` selected` : ''}>${label}</option>`;
  const filtered = query.q !== null || query.state !== null;
  return html`<form class="search" method="get" action="${basePath}/" role="search">
  <input type="search" name="q" value="${query.q ?? ''}" maxlength="200" placeholder="Project, !123, title, branch or author" aria-label="Search">
  <select name="state" aria-label="Show">
    ${option('', 'Waiting, then recent decisions')}
    ${Object.entries(STATE_FILTERS).map(([value, { label }]) => option(value as StateFilter, label))}
  </select>
  <button>Show</button>${filtered ? html` <a href="${basePath}/">Clear</a>` : ''}
</form>`;
}

function pager(basePath: string, query: ListQuery, state: StateFilter, next: CheckCursor | null): Safe {
  const first = query.after ? html`<a href="${listHref(basePath, { q: query.q, state })}">First page</a>` : '';
  const more = next ? html`<a rel="next" href="${listHref(basePath, { q: query.q, state, after: next })}">Next page →</a>` : '';
  return first || more ? html`<nav class="pager" aria-label="Pages">${first}${more}</nav>` : html``;
}

export interface ListSection {
  state: StateFilter;
  checks: Check[];
  total: number;
  next: CheckCursor | null;
}

export interface ListView {
  query: ListQuery;
  /** The front page has two sections (waiting, recent); a filtered list has one. */
  sections: ListSection[];
  /** Stamp of the newest change when the page was drawn; the script asks for changes after it. */
  mark: string;
}

const SECTION_TITLES: Record<StateFilter, string> = {
  pending: 'Waiting for a decision',
  approved: 'Approved',
  rejected: 'Rejected',
  stale: 'Stale',
  superseded: 'Superseded',
  closed: 'Closed undecided',
  merged: 'Merged undecided',
  decided: 'Recent decisions',
  all: 'All checks',
};

function section(view: ListView, s: ListSection, ctx: PageContext): Safe {
  const front = view.query.state === null;
  const searching = view.query.q ? ` matching “${view.query.q}”` : '';
  const empty = s.state === 'pending' ? `Nothing waits for a decision${searching}.` : `No checks here${searching}.`;
  // On the front page, recent decisions are a glimpse; the link leads to all of them.
  const more =
    front && s.state !== 'pending'
      ? s.next
        ? html`<nav class="pager"><a href="${listHref(ctx.basePath, { q: view.query.q, state: s.state })}">All decisions →</a></nav>`
        : html``
      : pager(ctx.basePath, view.query, s.state, s.next);
  return html`<section class="list" aria-labelledby="h-${s.state}">
  <h2 id="h-${s.state}">${SECTION_TITLES[s.state]} <span class="count">${s.total}</span></h2>
  ${table(s.checks, ctx, empty)}
  ${more}
</section>`;
}

/** The web list: what waits first, then recent decisions; or one filtered list, page by page. */
export function listPage(view: ListView, ctx: PageContext): string {
  const pending = view.sections.find((s) => s.state === 'pending');
  const title = pending ? `${pending.total} waiting — GitLab approvals` : 'GitLab approvals';
  return layout(
    title,
    ctx.basePath,
    html`${topBar(ctx)}
<main>
${searchForm(view.query, ctx.basePath)}
<div id="live" data-changes="${ctx.basePath}/changes" data-mark="${view.mark}">
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
${ctx.error ? html`<p class="error" role="alert">${ctx.error}</p>` : ''}
${view.sections.map((s) => section(view, s, ctx))}
</div>
<p class="hint">While a check waits, the merge request cannot be merged: GitLab shows the check <strong>pending</strong> (or <strong>failed</strong> after 2 minutes on a new merge request); an approval turns it green.
This list updates itself; <noscript>with scripts off, </noscript>reload to be sure.</p>
</main>`,
  );
}

export interface HistoryEvent {
  at: Date;
  event: string;
  actor: string | null;
  via: string | null;
  sha: string | null;
  detail: string | null;
}

/** An audit event's name in words, with its detail folded in where that reads better. */
export function eventWords(e: Pick<HistoryEvent, 'event' | 'detail'>): { text: string; detail: string | null } {
  const outcome = e.detail === 'approve' ? 'Approve' : e.detail === 'reject' ? 'Reject' : null;
  switch (e.event) {
    case 'received':
      return { text: 'GitLab asked for a decision', detail: e.detail };
    case 'clicked':
      return { text: outcome ? `Clicked ${outcome}` : 'Clicked', detail: outcome ? null : e.detail };
    case 'approved':
      return { text: 'Approved', detail: e.detail };
    case 'rejected':
      return { text: 'Rejected', detail: e.detail };
    case 'approval_counted':
      return { text: 'Approval counted', detail: e.detail };
    case 'refused':
      return { text: 'Decision not recorded', detail: e.detail };
    case 'approval_withdrawn':
      return { text: 'Approval withdrawn: another rule governs the check', detail: e.detail };
    case 'rule_changed':
      return { text: 'Another rule governs the check', detail: e.detail };
    case 'reported':
      return { text: e.detail ? `Reported to GitLab as ${e.detail}` : 'Reported to GitLab', detail: null };
    case 'report_retrying':
      return { text: 'GitLab did not take the report yet; trying again', detail: e.detail };
    case 'report_failed':
      return { text: 'GitLab refused the report', detail: e.detail };
    case 'note_posted':
      return { text: 'Note posted on the merge request', detail: e.detail };
    case 'note_failed':
      return { text: 'Note could not be posted on the merge request', detail: e.detail };
    case 'card_posted': {
      const channel = /^channel (\S+)$/.exec(e.detail ?? '');
      return channel ? { text: `Card posted to Slack channel ${channel[1]}`, detail: null } : { text: 'Card posted to Slack', detail: e.detail };
    }
    case 'card_failed':
      return { text: 'Card could not be posted to Slack', detail: e.detail };
    case 'superseded':
      return { text: 'Superseded by a newer commit', detail: e.detail };
    case 'closed':
      return { text: 'Merge request closed before a decision', detail: null };
    case 'merged':
      return { text: 'Merge request merged before a decision', detail: null };
    case 'reopened':
      return { text: 'Waiting for a decision again', detail: e.detail };
    default: {
      const words = e.event.replace(/_/g, ' ');
      return { text: words.charAt(0).toUpperCase() + words.slice(1), detail: e.detail };
    }
  }
}

/** One check and everything that happened to it, oldest first. */
export function historyPage(check: Check, events: readonly HistoryEvent[], ctx: PageContext): string {
  const exportHref = (format: 'csv' | 'json') => `${ctx.basePath}/audit?check=${check.id}&format=${format}`;
  return layout(
    `${check.projectPath}!${check.mergeRequestIid} — history`,
    ctx.basePath,
    html`${topBar(ctx)}
<main>
<p class="back"><a href="${ctx.basePath}/">← Back to the list</a></p>
<section class="summary">
  <h1><a href="${safeHref(check.url)}">${check.projectPath}!${check.mergeRequestIid}</a> ${check.title}</h1>
  <p class="state">${stateCell(check)}</p>
  <dl>
    <dt>Branches</dt><dd><code>${check.sourceBranch}</code> → <code>${check.targetBranch}</code></dd>
    <dt>Commit</dt><dd><a href="${safeHref(`${check.projectUrl}/-/commit/${check.sha}`)}"><code>${shortSha(check.sha)}</code></a></dd>
    <dt>Status check</dt><dd>${check.statusCheckName}</dd>
    ${check.ruleName ? html`<dt>Rule</dt><dd>${check.ruleName} (${check.approvalsRequired} approval${check.approvalsRequired === 1 ? '' : 's'} needed)</dd>` : ''}
    <dt>Received</dt><dd>${time(check.receivedAt, true)}</dd>
  </dl>
  ${decideForms(check, ctx)}
</section>
<section class="list">
<h2>History</h2>
<table class="events">
  <thead><tr><th class="when">When</th><th class="what">What happened</th><th class="actor">Who</th><th class="code">Commit</th></tr></thead>
  <tbody>${events.map((e) => {
    const words = eventWords(e);
    return html`<tr><td class="when">${time(e.at, true)}</td><td class="what">${words.text}${words.detail ? html`<span class="detail">${words.detail}</span>` : ''}</td><td class="actor">${e.actor ?? ''}${e.via ? ` (${e.via})` : ''}</td><td class="code">${e.sha ? html`<code>${shortSha(e.sha)}</code>` : ''}</td></tr>`;
  })}</tbody>
</table>
<p class="export">Export this check’s history: <a href="${exportHref('csv')}">CSV</a> · <a href="${exportHref('json')}">JSON</a></p>
</section>
</main>`,
  );
}

/** A page with one message and one way on (back to the list unless told otherwise). */
export function messagePage(title: string, basePath: string, message: string, next: { href: string; text: string } | null = null): string {
  const link = next ?? { href: `${basePath}/`, text: 'Back to the list' };
  return layout(title, basePath, html`<main class="message"><h1>${title}</h1><p>${message}</p><p><a href="${link.href}">${link.text}</a></p></main>`);
}

/** What someone who is not signed in sees: the ways in that are turned on, in an approver's words. */
export function signInPage(basePath: string, ways: { gitlab: boolean; basic: boolean }): string {
  const password = ways.gitlab
    ? 'Or sign in with the name and password you were given for this list: reload this page and your browser asks for them.'
    : 'Sign in with the name and password you were given for this list: your browser asks for them. Reload this page if you closed that window.';
  return layout(
    'Sign in required — GitLab approvals',
    basePath,
    html`<main class="message">
<h1>Sign in required</h1>
<p>Here you see the merge requests waiting for approval, and approve or reject them.</p>
${ways.gitlab ? html`<p><a class="sign-in" href="${basePath}/auth/login">Sign in with GitLab</a></p>` : ''}
${ways.basic ? html`<p>${password}</p>` : ''}
<p class="hint">No access? Ask whoever runs the approvals bot for your team.</p>
</main>`,
  );
}
