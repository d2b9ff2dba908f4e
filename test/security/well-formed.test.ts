import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/database.js';
import { APPROVER, basic, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { decideOnWeb } from '../support/web.js';

const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Every text value of every table, read as raw bytes on a connection of its own and decoded
 * as strict UTF-8, as another SQLite reader (a backup script, an export) would: the values
 * that fail, by table and column.
 */
function undecodable(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const bad: string[] = [];
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as Array<{ name: string }>;
    for (const { name } of tables) {
      const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as Array<{ name: string }>;
      for (const column of columns) {
        const rows = db.prepare(`SELECT CAST("${column.name}" AS BLOB) AS bytes FROM "${name}" WHERE typeof("${column.name}") = 'text'`).all() as Array<{ bytes: Buffer }>;
        for (const { bytes } of rows) {
          try {
            strict.decode(bytes);
          } catch {
            bad.push(`${name}.${column.name}: ${bytes.toString('hex')}`);
          }
        }
      }
    }
    return bad;
  } finally {
    db.close();
  }
}

describe('lone UTF-16 surrogates from outside are stored as valid UTF-8', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('a title from GitLab and a reason from Slack: replaced by U+FFFD, every stored byte valid UTF-8', async () => {
    // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON.parse gives back as is.
    const payload = statusCheck({ title: 'Fix \ud800 parser \udfff' });
    const received = await h.receive(payload);
    expect(received.status).toBe(202);
    const id = received.body.id as number;
    await h.slack.waitFor('chat.postMessage');

    expect((await h.submitReject(APPROVER, id, 'Breaks \udbff the build')).status).toBe(200);
    await h.gitlab.waitForResponses();

    expect(await h.bot.store.getCheck(id)).toMatchObject({ title: 'Fix \ufffd parser \ufffd', state: 'rejected', reason: 'Breaks \ufffd the build' });
    if (!onPostgres) expect(undecodable(h.env.DATABASE_PATH!)).toEqual([]);
  });

  // PostgreSQL refuses NUL in text: taken as it came, such a call could never be stored.
  it('a NUL in a title, a Slack reason and a web reason: replaced by U+FFFD, stored and decided', async () => {
    const received = await h.receive(statusCheck({ title: 'Fix\u0000parser' }));
    expect(received.status).toBe(202);
    const id = received.body.id as number;
    await h.slack.waitFor('chat.postMessage');
    expect((await h.submitReject(APPROVER, id, 'Breaks\u0000the build')).status).toBe(200);
    await h.gitlab.waitForResponses();
    expect(await h.bot.store.getCheck(id)).toMatchObject({ title: 'Fix\ufffdparser', state: 'rejected', reason: 'Breaks\ufffdthe build' });

    const other = (await h.receive(statusCheck({ iid: 129 }))).body.id as number;
    const answer = await decideOnWeb(h, other, 'reject', { authorization: basic(), reason: 'No\u0000tests' });
    expect(answer.status).toBe(303);
    expect(await h.bot.store.getCheck(other)).toMatchObject({ state: 'rejected', reason: 'No\ufffdtests' });
  });
});
