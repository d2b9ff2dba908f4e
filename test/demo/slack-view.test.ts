import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mrkdwnToHtml, serveSlackView, slackViewPage } from '../../src/demo/slack-view.js';
import { FakeSlack } from '../../src/fakes/slack.js';

describe('the demo’s Slack view draws mrkdwn as HTML, escaping everything', () => {
  it('turns links, mentions, dates, bold, code and quotes into markup', () => {
    expect(mrkdwnToHtml('*Approved* by <@U0DEMO> at <!date^1700000000^{date_short_pretty}|2026-11-20 10:00 UTC>')).toBe(
      '<b>Approved</b> by <span class="mention">@U0DEMO</span> at 2026-11-20 10:00 UTC',
    );
    expect(mrkdwnToHtml('<https://gitlab.example.com/a/b|a/b!1> `main`\n&gt;why')).toBe(
      '<a href="https://gitlab.example.com/a/b" target="_blank" rel="noopener noreferrer">a/b!1</a> <code>main</code><br><span class="quote">why</span>',
    );
  });

  it('shows what people typed as text: no tag, no script URL gets through', () => {
    const html = mrkdwnToHtml('Fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; <javascript:alert(1)|click> <https://x.example/"onmouseover="x|"quoted">');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp;');
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('"onmouseover');
    expect(html).toContain('&quot;quoted&quot;');
  });
});

describe('the demo’s Slack view server', () => {
  let slack: FakeSlack;
  let view: { port: number; close: () => Promise<void> };
  beforeEach(async () => {
    slack = await FakeSlack.start('xoxb-demo', ['C0DEMO']);
    view = await serveSlackView({ slack, botEventsUrl: 'http://127.0.0.1:9/slack/events', signingSecret: 's', channel: 'C0DEMO', user: 'U0DEMO', port: 0, host: '127.0.0.1' });
  });
  afterEach(async () => {
    await view.close();
    await slack.close();
  });

  it('serves a page with a strict CSP and its script as a file, and refuses a click without the page’s token', async () => {
    const res = await fetch(`http://127.0.0.1:${view.port}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const page = await res.text();
    expect(page).toContain('<script src="slack-view.js" defer></script>');
    expect((await fetch(`http://127.0.0.1:${view.port}/slack-view.js`)).headers.get('content-type')).toContain('javascript');
    const forged = await fetch(`http://127.0.0.1:${view.port}/act`, { method: 'POST', body: new URLSearchParams({ csrf: 'x', action_id: 'approve_check', value: '1', where: 'home' }) });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('reload the page');
  });

  it('draws a card in its latest version with its thread replies (a reminder, say) under it', async () => {
    const post = (body: Record<string, unknown>) =>
      fetch(`${slack.apiUrl}chat.${body.ts ? 'update' : 'postMessage'}`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-demo', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ ts: string }>);
    const section = (text: string) => [{ type: 'section', text: { type: 'mrkdwn', text } }];
    const { ts } = await post({ channel: 'C0DEMO', text: 'card', blocks: section('*Approval needed*: first') });
    await post({ channel: 'C0DEMO', ts, text: 'card', blocks: section('*Approved*: first') });
    await post({ channel: 'C0DEMO', thread_ts: ts, text: 'Still waiting for a decision &lt;2 h&gt;' });
    const page = slackViewPage(slack, { channel: 'C0DEMO', user: 'U0DEMO', csrf: 't', notice: null });
    expect(page).toContain('<b>Approved</b>: first');
    expect(page).not.toContain('Approval needed');
    expect(page).toContain('(edited)');
    expect(page).toContain('1 reply in thread');
    expect(page).toContain('Still waiting for a decision &lt;2 h&gt;');
  });
});

describe('a click on the Slack view reaches the bot as Slack sends it', () => {
  let slack: FakeSlack;
  let view: { port: number; close: () => Promise<void> };
  let bot: http.Server;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  beforeEach(async () => {
    received.length = 0;
    // Stands where the bot's /slack/events would: keeps what the view sends.
    bot = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => bot.listen(0, '127.0.0.1', resolve));
    slack = await FakeSlack.start('xoxb-demo', ['C0DEMO']);
    const botEventsUrl = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/slack/events`;
    view = await serveSlackView({ slack, botEventsUrl, signingSecret: 's', channel: 'C0DEMO', user: 'U0DEMO', port: 0, host: '127.0.0.1' });
  });
  afterEach(async () => {
    await view.close();
    await slack.close();
    await new Promise((resolve) => bot.close(resolve));
  });

  it('Approve on the Home tab is a signed block_actions from a home view, with no response_url', async () => {
    const home = { type: 'home', blocks: [{ type: 'actions', block_id: 'home_decide_5', elements: [{ type: 'button', action_id: 'approve_check', text: { type: 'plain_text', text: 'Approve' }, value: '5' }] }] };
    const published = await fetch(`${slack.apiUrl}views.publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-demo', 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'U0DEMO', view: home }),
    });
    expect(await published.json()).toMatchObject({ ok: true });
    const page = await (await fetch(`http://127.0.0.1:${view.port}/`)).text();
    const csrf = /name="csrf" value="([0-9a-f]+)"/.exec(page)?.[1] ?? '';
    const clicked = await fetch(`http://127.0.0.1:${view.port}/act`, { method: 'POST', body: new URLSearchParams({ csrf, action_id: 'approve_check', value: '5', where: 'home' }), redirect: 'manual' });
    expect(clicked.status).toBe(303);

    const [sent] = received;
    const at = sent!.headers['x-slack-request-timestamp'] as string;
    expect(sent!.headers['x-slack-signature']).toBe(`v0=${crypto.createHmac('sha256', 's').update(`v0:${at}:${sent!.body}`).digest('hex')}`);
    const payload = JSON.parse(new URLSearchParams(sent!.body).get('payload') ?? '{}') as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0DEMO' },
      container: { type: 'view', view_id: 'VU0DEMO' },
      view: { id: 'VU0DEMO', type: 'home' },
      actions: [{ type: 'button', action_id: 'approve_check', value: '5', block_id: 'home_decide_5' }],
    });
    expect(payload).not.toHaveProperty('response_url');
    expect(payload).not.toHaveProperty('channel');
  });
});
