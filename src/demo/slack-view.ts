import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import escapeHtml from 'escape-html';
import express from 'express';
import helmet from 'helmet';
import { appHomeOpened, buttonClick, FakeSlack, homeButtonClick, reasonSubmission, sendEvent, sendInteraction, type SlackCall } from '../fakes/slack.js';
import { html, safeHref, Safe } from '../web/html.js';

/**
 * The demo's picture of Slack: what the stand-in Slack received, drawn as Slack would (cards,
 * thread replies, direct messages, the Home tab), with buttons that send the bot the same
 * signed interactions Slack sends. The page posts here; this server signs and sends.
 */

type Block = {
  type: string;
  block_id?: string;
  text?: { type: string; text: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ type: string; text?: string | { text: string }; action_id?: string; value?: string; style?: string; url?: string }>;
};

const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  large_green_circle: '🟢',
  red_circle: '🔴',
  warning: '⚠️',
  hourglass_flowing_sand: '⏳',
  busts_in_silhouette: '👥',
  fast_forward: '⏩',
  no_entry_sign: '🚫',
  twisted_rightwards_arrows: '🔀',
  information_source: 'ℹ️',
  snowflake: '❄️',
  leftwards_arrow_with_hook: '↩️',
  alarm_clock: '⏰',
  bell: '🔔',
};

/** Slack-escaped text (`&amp;` `&lt;` `&gt;`) back to what a person typed. */
const unescapeSlack = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Slack mrkdwn as HTML: everything escaped, then links, mentions, dates, bold, code, quotes, emoji. */
export function mrkdwnToHtml(text: string): string {
  const out: string[] = [];
  // In the bot's mrkdwn a `<` only opens a control sequence: user text arrives escaped.
  for (const part of text.split(/(<[^<>]*>)/)) {
    const control = /^<([^<>]*)>$/.exec(part);
    if (!control) {
      out.push(escapeHtml(unescapeSlack(part)));
      continue;
    }
    const [target, label] = (control[1] ?? '').split('|', 2) as [string, string | undefined];
    if (target.startsWith('@')) out.push(`<span class="mention">@${escapeHtml(target.slice(1))}</span>`);
    else if (target.startsWith('!date^')) out.push(escapeHtml(unescapeSlack(label ?? '')));
    else if (target.startsWith('!')) out.push(`<span class="mention">@${escapeHtml(target.slice(1))}</span>`);
    else out.push(`<a href="${escapeHtml(safeHref(target))}" target="_blank" rel="noopener noreferrer">${escapeHtml(unescapeSlack(label ?? target))}</a>`);
  }
  return out
    .join('')
    .split('\n')
    .map((line) => (line.startsWith('&gt;') ? `<span class="quote">${line.slice(4)}</span>` : line))
    .join('<br>')
    .replace(/\*([^*<>\n]+)\*/g, '<b>$1</b>')
    .replace(/`([^`<>\n]+)`/g, '<code>$1</code>')
    .replace(/:([a-z0-9_+-]+):/g, (all, name: string) => EMOJI[name] ?? all);
}

interface Action {
  actionId: string;
  value: string;
  /** Where the button was: a card in a channel (its ts), or the Home tab. */
  where: { channel: string; ts: string } | 'home';
}

function blocksHtml(blocks: readonly Block[], where: Action['where'], csrf: string): Safe {
  return html`${blocks.map((block) => {
    switch (block.type) {
      case 'header':
        return html`<h3 class="header">${block.text?.text ?? ''}</h3>`;
      case 'divider':
        return html`<hr>`;
      case 'section':
        return html`<div class="section">
          ${block.text ? new Safe(`<p>${mrkdwnToHtml(block.text.text)}</p>`) : ''}
          ${block.fields ? html`<dl class="fields">${block.fields.map((f) => new Safe(`<div>${mrkdwnToHtml(f.text)}</div>`))}</dl>` : ''}
        </div>`;
      case 'context':
        return html`<p class="context">${(block.elements ?? []).map((e) => new Safe(mrkdwnToHtml(typeof e.text === 'string' ? e.text : (e.text?.text ?? ''))))}</p>`;
      case 'actions':
        return html`<div class="actions">${(block.elements ?? []).map((e) => buttonHtml(e, where, csrf))}</div>`;
      default:
        return html`<p class="context">(a ${block.type} block)</p>`;
    }
  })}`;
}

function buttonHtml(e: NonNullable<Block['elements']>[number], where: Action['where'], csrf: string): Safe {
  const label = typeof e.text === 'string' ? e.text : (e.text?.text ?? '');
  if (e.url) return html`<a class="button" href="${safeHref(e.url)}" target="_blank" rel="noopener noreferrer">${label}</a>`;
  const at = where === 'home' ? 'home' : `${where.channel}/${where.ts}`;
  const reject = e.action_id === 'reject_check';
  return html`<form method="post" action="act" class="button-form">
    <input type="hidden" name="csrf" value="${csrf}">
    <input type="hidden" name="action_id" value="${e.action_id ?? ''}">
    <input type="hidden" name="value" value="${e.value ?? ''}">
    <input type="hidden" name="where" value="${at}">
    ${reject ? html`<input type="text" name="reason" maxlength="2000" placeholder="Reason (optional)" aria-label="Reason for rejecting">` : ''}
    <button type="submit" class="${e.style ?? 'plain'}">${label}</button>
  </form>`;
}

/** The messages of a channel, each in its latest version, with its thread replies. */
function channelMessages(slack: FakeSlack, channel: string) {
  const posts = slack.calls('chat.postMessage').filter((c) => c.body.channel === channel && !c.body.thread_ts);
  return posts.map((post) => {
    const ts = String(slack.answerTo(post).ts ?? '');
    const updates = slack.calls('chat.update').filter((u) => u.body.channel === channel && u.body.ts === ts);
    const replies = slack.calls('chat.postMessage').filter((c) => c.body.channel === channel && String(c.body.thread_ts ?? '') === ts);
    return { ts, latest: updates.at(-1) ?? post, edited: updates.length > 0, replies };
  });
}

const blocksOf = (call: SlackCall): Block[] => (Array.isArray(call.body.blocks) ? (call.body.blocks as Block[]) : []);

function messageHtml(call: SlackCall, where: Action['where'], csrf: string, extra: Safe | string = ''): Safe {
  const blocks = blocksOf(call);
  return html`<article class="message">
    <div class="avatar" aria-hidden="true">GA</div>
    <div class="body">
      <p class="from"><b>GitLab Approvals</b> <span class="app">APP</span>${extra}</p>
      ${blocks.length ? blocksHtml(blocks, where, csrf) : new Safe(`<p>${mrkdwnToHtml(String(call.body.text ?? ''))}</p>`)}
    </div>
  </article>`;
}

export function slackViewPage(slack: FakeSlack, o: { channel: string; user: string; csrf: string; notice: string | null }): string {
  const cards = channelMessages(slack, o.channel);
  const dms = slack.calls('chat.postMessage').filter((c) => /^[UW]/.test(String(c.body.channel)));
  const home = slack.homeViews(o.user).at(-1);
  const privately = slack.calls('response_url').filter((c) => c.body.response_type === 'ephemeral');
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo: the stand-in Slack</title><link rel="stylesheet" href="slack-view.css"><script src="slack-view.js" defer></script></head>
<body>
<header class="top"><h1>Stand-in Slack</h1><p>What the bot sent to Slack in this demo. Buttons send the bot the same signed requests Slack would, as <span class="mention">@${o.user}</span>, an approver. What the bot tells GitLab is printed in the demo’s terminal.</p></header>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
<main>
<section class="pane" aria-labelledby="channel">
  <h2 id="channel"># approvals <small>(${o.channel})</small></h2>
  ${cards.length === 0 ? html`<p class="empty">No card yet.</p>` : ''}
  ${cards.map(({ ts, latest, edited, replies }) =>
    html`<div class="card-thread">${messageHtml(latest, { channel: o.channel, ts }, o.csrf, edited ? html` <span class="edited">(edited)</span>` : '')}
      ${replies.length ? html`<div class="replies"><p class="context">${replies.length} repl${replies.length === 1 ? 'y' : 'ies'} in thread</p>${replies.map((r) => messageHtml(r, { channel: o.channel, ts }, o.csrf))}</div>` : ''}</div>`,
  )}
  ${privately.length ? html`<h2>Only visible to you</h2>${privately.map((c) => messageHtml(c, 'home', o.csrf, html` <span class="edited">only visible to you</span>`))}` : ''}
</section>
<section class="pane" aria-labelledby="home">
  <h2 id="home">Home tab of <span class="mention">@${o.user}</span></h2>
  <form method="post" action="home"><input type="hidden" name="csrf" value="${o.csrf}"><button type="submit" class="plain">Open the Home tab</button></form>
  ${home ? html`<div class="home">${blocksHtml(home.blocks as Block[], 'home', o.csrf)}</div>` : html`<p class="empty">Not opened yet.</p>`}
  <h2>Direct messages from the app</h2>
  ${dms.length === 0 ? html`<p class="empty">None yet: the merge request’s author hears of each decision here.</p>` : ''}
  ${dms.map((c) => messageHtml(c, 'home', o.csrf, html` <span class="edited">to <span class="mention">@${String(c.body.channel)}</span></span>`))}
</section>
</main>
</body></html>`;
  return page.value;
}

export const SLACK_VIEW_CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1c1d;background:#f8f8f8}
.top{background:#3f0e40;color:#fff;padding:12px 20px}.top .mention{background:#5c2c5e;color:#fff}.top h1{margin:0;font-size:20px}.top p{margin:4px 0 0;opacity:.85;font-size:14px}
.notice{margin:12px 20px;padding:8px 12px;background:#e8f5fa;border-left:4px solid #1264a3}
main{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;padding:16px 20px}
@media (max-width:800px){main{grid-template-columns:1fr}}
.pane{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;min-width:0}
h2{font-size:16px;margin:8px 0 12px}h2 small{font-weight:normal;color:#616061}
.message{display:flex;gap:10px;padding:8px 0;border-top:1px solid #eee}.card-thread:first-of-type .message{border-top:0}
.avatar{flex:none;width:36px;height:36px;border-radius:6px;background:#fc6d26;color:#fff;font-weight:bold;display:grid;place-items:center;font-size:13px}
.body{min-width:0;flex:1}.from{margin:0 0 4px}.app{font-size:10px;background:#eee;color:#616061;padding:1px 4px;border-radius:3px;vertical-align:middle}
.edited,.context{color:#616061;font-size:13px}.section p{margin:4px 0;overflow-wrap:anywhere}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin:6px 0}.fields div{overflow-wrap:anywhere}
.quote{display:inline-block;border-left:4px solid #ddd;padding-left:8px;color:#444}
code{background:#f4f4f4;border:1px solid #e4e4e4;border-radius:3px;padding:0 3px;font-size:13px;color:#c01343}
a{color:#1264a3}.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}.button-form{display:flex;gap:6px;align-items:center;margin:0}
button,.button{font:inherit;font-weight:bold;font-size:14px;border-radius:4px;padding:5px 14px;cursor:pointer;border:1px solid #bbb;background:#fff;color:#1d1c1d;text-decoration:none}
button.primary{background:#007a5a;border-color:#007a5a;color:#fff}button.danger{background:#fff;border-color:#e01e5a;color:#e01e5a}
input[type=text]{font:inherit;font-size:14px;padding:4px 8px;border:1px solid #bbb;border-radius:4px;min-width:0;width:14em}
.replies{margin-left:46px;border-left:2px solid #eee;padding-left:10px}.home .header{font-size:17px;margin:12px 0 6px}
hr{border:0;border-top:1px solid #ddd;margin:12px 0}.empty{color:#616061}
`;

/** Reloads the page when the stand-in Slack received something, unless a reason is being typed. */
export const SLACK_VIEW_JS = `
(function () {
  var seen = null;
  function busy() {
    var a = document.activeElement;
    return Array.prototype.some.call(document.querySelectorAll('input[type=text]'), function (i) { return i.value !== ''; }) || (a && a.tagName === 'INPUT');
  }
  function poll() {
    fetch('version', { cache: 'no-store' }).then(function (r) { return r.text(); }).then(function (v) {
      if (seen !== null && v !== seen && !busy()) location.reload();
      seen = v;
    }).catch(function () {}).finally(function () { setTimeout(poll, 1500); });
  }
  poll();
})();
`;

export interface SlackViewOptions {
  slack: FakeSlack;
  /** The bot's Slack request URL (…/slack/events). */
  botEventsUrl: string;
  signingSecret: string;
  channel: string;
  /** The Slack user the page clicks as (an approver). */
  user: string;
  port: number;
  host?: string;
}

/** Serves the Slack view; resolves with its port and a way to close it. */
export async function serveSlackView(o: SlackViewOptions): Promise<{ port: number; close: () => Promise<void> }> {
  const csrf = crypto.randomBytes(16).toString('hex');
  const app = express();
  app.disable('x-powered-by');
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], connectSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
      },
    }),
  );
  let notice: string | null = null;
  app.get('/', (_req, res) => {
    const page = slackViewPage(o.slack, { channel: o.channel, user: o.user, csrf, notice });
    notice = null;
    res.set('Cache-Control', 'no-store').type('html').send(page);
  });
  app.get('/slack-view.css', (_req, res) => void res.type('text/css').send(SLACK_VIEW_CSS));
  app.get('/slack-view.js', (_req, res) => void res.type('text/javascript').send(SLACK_VIEW_JS));
  app.get('/version', (_req, res) => void res.set('Cache-Control', 'no-store').type('text/plain').send(String(o.slack.requests.calls.length)));

  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });
  const field = (body: unknown, name: string) => {
    const v = (body as Record<string, unknown> | undefined)?.[name];
    return typeof v === 'string' ? v : '';
  };
  app.post('/act', form, async (req, res) => {
    if (field(req.body, 'csrf') !== csrf) {
      res.status(403).type('text/plain').send('This form is stale: reload the page and click again.');
      return;
    }
    const actionId = field(req.body, 'action_id');
    const value = field(req.body, 'value');
    const where = field(req.body, 'where');
    if (!['approve_check', 'reject_check'].includes(actionId) || !/^\d{1,15}$/.test(value)) {
      res.status(400).type('text/plain').send('Unknown button: expected approve_check or reject_check with a check number.');
      return;
    }
    const [channel, ts] = where.split('/');
    const click =
      where === 'home'
        ? homeButtonClick({ userId: o.user, actionId, value, triggerId: o.slack.triggerId() })
        : buttonClick({ userId: o.user, actionId, value, channel: channel ?? o.channel, messageTs: ts, responseUrl: o.slack.responseUrl(o.user), triggerId: o.slack.triggerId() });
    const answer = await sendInteraction(o.botEventsUrl, click, o.signingSecret);
    notice = `Clicked ${actionId === 'approve_check' ? 'Approve' : 'Reject'} on check ${value}: the bot answered HTTP ${answer.status}.`;
    if (actionId === 'reject_check' && answer.ok) {
      // Slack shows the reason modal the bot opened; the page asked for the reason up front.
      const submitted = await sendInteraction(o.botEventsUrl, reasonSubmission({ callbackId: 'reject_reason', userId: o.user, checkId: Number(value), text: field(req.body, 'reason') || null }), o.signingSecret);
      notice += ` The reason was submitted: HTTP ${submitted.status}.`;
    }
    res.redirect(303, './');
  });
  app.post('/home', form, async (req, res) => {
    if (field(req.body, 'csrf') !== csrf) {
      res.status(403).type('text/plain').send('This form is stale: reload the page and click again.');
      return;
    }
    const answer = await sendEvent(o.botEventsUrl, appHomeOpened(o.user), o.signingSecret);
    notice = `Opened the Home tab: the bot answered HTTP ${answer.status}.`;
    res.redirect(303, './');
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
