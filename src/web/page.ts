import { shortSha, type Check } from '../domain/check.js';
import { html, safeHref, type Safe } from './html.js';

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
  /** The freeze holding a check's approvals now (its reason), or null. */
  freezeOf?: (check: Check) => string | null;
}

const time = (d: Date | null): Safe =>
  d ? html`<time datetime="${d.toISOString()}">${d.toISOString().replace('T', ' ').slice(0, 16)} UTC</time>` : html``;

function stateText(check: Check): string {
  const report: Record<Check['report'], string> = {
    none: '',
    sending: check.reportError ? ` — not in GitLab yet, retrying (${check.reportError})` : ' — reporting to GitLab',
    reported: ' — reported to GitLab',
    failed: ` — GitLab refused the report: ${check.reportError ?? 'no reason given'}`,
  };
  const card = check.cardError ? ` — ${check.cardError}` : '';
  const quorum = check.state === 'pending' && check.approvalsRequired > 1 ? ` — ${check.approvals.length} of ${check.approvalsRequired} approvals` : '';
  return `${check.state}${quorum}${report[check.report]}${card}`;
}

/** During a freeze: what holds approvals, and break glass, which always asks why. */
function freezeForm(check: Check, ctx: PageContext): Safe {
  const freeze = check.state === 'pending' ? (ctx.freezeOf?.(check) ?? null) : null;
  if (freeze === null) return html``;
  return html`<p class="freeze">Frozen: ${freeze}. Approvals are refused until it ends; a rejection still counts.</p>
          <form method="post" action="${ctx.basePath}/checks/${check.id}/emergency">
            <input type="hidden" name="csrf" value="${ctx.csrf}">
            <input name="reason" maxlength="2000" required placeholder="Why it cannot wait (posted on the merge request)" aria-label="Reason for the emergency approval">
            <button class="emergency">Emergency approve</button>
          </form>`;
}

function row(check: Check, ctx: PageContext): Safe {
  const decide =
    check.state === 'pending'
      ? html`<form method="post" action="${ctx.basePath}/checks/${check.id}/approve">
            <input type="hidden" name="csrf" value="${ctx.csrf}">
            <input name="reason" maxlength="2000" placeholder="Comment (if the rule asks)" aria-label="Comment on the approval">
            <button class="approve">Approve</button>
          </form>
          <form method="post" action="${ctx.basePath}/checks/${check.id}/reject">
            <input type="hidden" name="csrf" value="${ctx.csrf}">
            <input name="reason" maxlength="2000" placeholder="Reason (optional)" aria-label="Reason for rejecting">
            <button class="reject">Reject</button>
          </form>`
      : html``;
  return html`<tr class="${check.state}" id="check-${check.id}">
      <td><a href="${safeHref(check.projectUrl)}">${check.projectPath}</a></td>
      <td><a href="${safeHref(check.url)}">!${check.mergeRequestIid}</a></td>
      <td>${check.title}${check.draft ? ' (draft)' : ''}</td>
      <td><code>${check.sourceBranch}</code> → <code>${check.targetBranch}</code></td>
      <td><a href="${safeHref(`${check.projectUrl}/-/commit/${check.sha}`)}"><code>${shortSha(check.sha)}</code></a></td>
      <td>${check.statusCheckName}</td>
      <td class="state">${stateText(check)}</td>
      <td>${check.decidedByName ?? ''}${check.decidedVia ? ` (${check.decidedVia})` : ''}${check.reason ? html`<br><q>${check.reason}</q>` : ''}</td>
      <td>${time(check.decidedAt ?? check.receivedAt)}</td>
      <td>${freezeForm(check, ctx)}${decide}<a href="${ctx.basePath}/checks/${check.id}">history</a></td>
    </tr>`;
}

function table(checks: readonly Check[], ctx: PageContext, empty: string): Safe {
  if (checks.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table>
      <thead><tr><th>Project</th><th>Merge request</th><th>Title</th><th>Branches</th><th>Commit</th><th>Check</th><th>State</th><th>Decided by</th><th>When</th><th></th></tr></thead>
      <tbody>${checks.map((c) => row(c, ctx))}</tbody>
    </table>`;
}

function layout(title: string, basePath: string, body: Safe): string {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="stylesheet" href="${basePath}/assets/style.css">
</head>
<body>
${body}
</body>
</html>`.value;
}

/** The web list: pending checks first, then recent decisions. */
export function listPage(view: { pending: Check[]; recent: Check[] }, ctx: PageContext): string {
  return layout(
    `${view.pending.length} pending — GitLab approvals`,
    ctx.basePath,
    html`<header><h1>GitLab approvals</h1>${signedInAs(ctx)}</header>
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
${ctx.error ? html`<p class="error" role="alert">${ctx.error}</p>` : ''}
<p class="hint">While a check waits, GitLab shows it as <strong>failed</strong> (after 2 minutes). An approval still turns it green.</p>
<h2>Waiting for a decision (${view.pending.length})</h2>
${table(view.pending, ctx, 'Nothing waits for a decision.')}
<h2>Recent</h2>
${table(view.recent, ctx, 'No decisions yet.')}`,
  );
}

function signedInAs(ctx: PageContext): Safe {
  const { name, gitlabUsername } = ctx.user;
  if (!gitlabUsername) return html`<p>Signed in as <strong>${name}</strong></p>`;
  return html`<div class="who">Signed in as <strong>${name}</strong> (@${gitlabUsername})
      <form method="post" action="${ctx.basePath}/auth/logout"><input type="hidden" name="csrf" value="${ctx.csrf}"><button class="sign-out">Sign out</button></form></div>`;
}

/** A page with one message and one way on (back to the list unless told otherwise). */
export interface HistoryEvent {
  at: Date;
  event: string;
  actor: string | null;
  via: string | null;
  sha: string | null;
  detail: string | null;
}

/** One check and everything that happened to it, oldest first. */
export function historyPage(check: Check, events: readonly HistoryEvent[], ctx: PageContext): string {
  return layout(
    `${check.projectPath}!${check.mergeRequestIid} — history`,
    ctx.basePath,
    html`<header><h1>${check.projectPath}!${check.mergeRequestIid}: ${check.title}</h1>${signedInAs(ctx)}</header>
<p><a href="${ctx.basePath}/">Back to the list</a> · <a href="${safeHref(check.url)}">Open in GitLab</a> ·
commit <code>${shortSha(check.sha)}</code> · ${check.statusCheckName} · ${stateText(check)}</p>
<table>
  <thead><tr><th>When</th><th>Event</th><th>Who</th><th>Via</th><th>Commit</th><th>Detail</th></tr></thead>
  <tbody>${events.map(
    (e) => html`<tr><td>${time(e.at)}</td><td>${e.event}</td><td>${e.actor ?? ''}</td><td>${e.via ?? ''}</td><td><code>${e.sha ? shortSha(e.sha) : ''}</code></td><td>${e.detail ?? ''}</td></tr>`,
  )}</tbody>
</table>
<p><a href="${ctx.basePath}/audit?format=csv">Export the audit trail (CSV)</a> · <a href="${ctx.basePath}/audit?format=json">JSON</a></p>`,
  );
}

export function messagePage(title: string, basePath: string, message: string, next: { href: string; text: string } | null = null): string {
  const link = next ?? { href: `${basePath}/`, text: 'Back to the list' };
  return layout(title, basePath, html`<h1>${title}</h1><p>${message}</p><p><a href="${link.href}">${link.text}</a></p>`);
}

/** What someone who is not signed in sees: the ways in that are turned on. */
export function signInPage(basePath: string, ways: { gitlab: boolean; basic: boolean }): string {
  return layout(
    'Sign in required',
    basePath,
    html`<h1>Sign in required</h1>
${ways.gitlab ? html`<p><a class="sign-in" href="${basePath}/auth/login">Sign in with GitLab</a></p>` : ''}
${ways.basic ? html`<p>${ways.gitlab ? 'Or sign in' : 'Sign in'} with a name and password from WEB_USERS${ways.gitlab ? ': reload this page and your browser asks for them' : ''}.</p>` : ''}`,
  );
}

export const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1f1f1f}
header{display:flex;justify-content:space-between;align-items:baseline}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}
tr.pending{background:#fffbe6} tr.approved .state{color:#1a7f37} tr.rejected .state,tr.stale .state{color:#cf222e}
form{display:inline-block;margin:0 .25rem .25rem 0}
button.approve{background:#1a7f37;color:#fff;border:0;padding:.3rem .7rem;border-radius:4px}
button.reject{background:#cf222e;color:#fff;border:0;padding:.3rem .7rem;border-radius:4px}
button.emergency{background:#9a6700;color:#fff;border:0;padding:.3rem .7rem;border-radius:4px} .freeze{color:#0550ae;margin:0 0 .25rem}
header form{margin-left:.5rem} a.sign-in{display:inline-block;background:#6b4fbb;color:#fff;padding:.4rem .8rem;border-radius:4px;text-decoration:none}
.notice{background:#dafbe1;padding:.5rem} .error{background:#ffebe9;padding:.5rem} .hint{color:#555}
`;
