import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitlabSignature } from '../../src/fakes/gitlab.js';
import { mergeRequestInto } from '../support/policy.js';
import { startHarness, statusCheck, tempDir, type Harness } from '../support/harness.js';
import { rowsOnDisk } from '../support/database.js';

/** Posts a status check call signed with `secret` (unsigned when null). */
async function post(h: Harness, payload: unknown, secret: string | null): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret !== null) headers['x-gitlab-signature'] = gitlabSignature(body, secret);
  const res = await fetch(`${h.bot.url}/status_check`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Starts a request with these headers and sends only the first `sent` bytes of its body.
 * `started` resolves once the bot has taken the request in (its 100 Continue).
 */
function heldRequest(
  url: string,
  headers: Record<string, string>,
  sent: Buffer,
): { started: Promise<void>; answered: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>; finish: (rest: Buffer) => void } {
  const req = http.request(url, { method: 'POST', headers: { ...headers, expect: '100-continue' } });
  const started = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  const answered = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  void started.then(() => req.write(sent));
  return { started, answered, finish: (rest) => void started.then(() => req.end(rest)) };
}

describe('GitLab webhook secrets: rotation and one per project', () => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await h?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    h = undefined;
    dir = undefined;
  });

  const withSecretsFile = async (yaml: string, extra: Record<string, string> = {}) => {
    dir = tempDir();
    const file = path.join(dir, 'webhook-secrets.yaml');
    fs.writeFileSync(file, yaml);
    return startHarness({ GITLAB_WEBHOOK_SECRET: '', GITLAB_WEBHOOK_SECRETS_FILE: file, ...extra });
  };

  it('during a rotation, the old and the new secret both sign; any other is refused and nothing is written', async () => {
    h = await startHarness({ GITLAB_WEBHOOK_SECRET: 'old-secret-2025,new-secret-2026' });
    expect((await post(h, statusCheck({ iid: 1 }), 'old-secret-2025')).status).toBe(202);
    expect((await post(h, statusCheck({ iid: 2 }), 'new-secret-2026')).status).toBe(202);
    const refused = await post(h, statusCheck({ iid: 3 }), 'retired-secret-2024');
    expect(refused).toEqual({ status: 401, json: { error: expect.stringMatching(/^X-Gitlab-Signature does not match the body with any configured secret/) } });
    expect(await rowsOnDisk(h)).toBe(2);
  });

  it('a project’s calls are accepted only with a secret of the first entry that covers it', async () => {
    h = await withSecretsFile(
      ['- projects: acme/payments-*', '  secrets: [payments-secret]', '- projects: [acme/**]', '  secrets: [acme-secret-old, acme-secret-new]', ''].join('\n'),
    );
    const payments = (iid: number) => mergeRequestInto('acme/payments-api', 'main', { iid });
    const web = (iid: number) => mergeRequestInto('acme/web', 'main', { iid });

    // acme/** also matches acme/payments-api, but the first entry that does is the payments one.
    const crossed = await post(h, payments(1), 'acme-secret-new');
    expect(crossed).toEqual({
      status: 401,
      json: { error: 'X-Gitlab-Signature was made with a secret that is not project acme/payments-api’s: its calls must be signed with a secret of entry 1 of GITLAB_WEBHOOK_SECRETS_FILE (projects acme/payments-*).' },
    });
    expect((await post(h, web(2), 'payments-secret')).status).toBe(401);
    expect(await rowsOnDisk(h)).toBe(0);

    expect((await post(h, payments(3), 'payments-secret')).status).toBe(202);
    expect((await post(h, web(4), 'acme-secret-old')).status).toBe(202);
    expect((await post(h, web(5), 'acme-secret-new')).status).toBe(202);
    expect(await rowsOnDisk(h)).toBe(3);
  });

  it('a project no entry covers: refused, unless GITLAB_WEBHOOK_SECRET signs it; an entry’s project never takes the shared secret', async () => {
    h = await withSecretsFile('- projects: acme/**\n  secrets: [acme-secret]\n');
    const other = mergeRequestInto('beta/tools', 'main', { iid: 9 });
    expect(await post(h, other, 'acme-secret')).toEqual({
      status: 401,
      json: { error: 'No entry of GITLAB_WEBHOOK_SECRETS_FILE covers project beta/tools, and GITLAB_WEBHOOK_SECRET is not set: add an entry for it.' },
    });
    await h.stop();

    h = await withSecretsFile('- projects: acme/**\n  secrets: [acme-secret]\n', { GITLAB_WEBHOOK_SECRET: 'shared-secret' });
    expect((await post(h, other, 'shared-secret')).status).toBe(202);
    const acme = await post(h, mergeRequestInto('acme/web', 'main', { iid: 10 }), 'shared-secret');
    expect(acme.status).toBe(401);
    expect(acme.json.error).toContain('not project acme/web’s');
    expect(await rowsOnDisk(h)).toBe(1);
  });
});

describe('what an unauthenticated body may cost', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('a call without a signature is refused from its headers, before its body is read', async () => {
    h = await startHarness();
    // The body is announced but never sent: the answer cannot have waited for it.
    const held = heldRequest(`${h.bot.url}/status_check`, { 'content-type': 'application/json', 'content-length': String(20 * 1024 * 1024) }, Buffer.from('{"object_kind":'));
    const answer = await held.answered;
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: expect.stringMatching(/^X-Gitlab-Signature header is missing/) });
    expect(await rowsOnDisk(h)).toBe(0);
  });

  it('a Content-Length over the limit is refused at once with 413', async () => {
    h = await startHarness({ WEBHOOK_BODY_LIMIT: '1kb', WEBHOOK_BUFFER_LIMIT: '4kb' });
    const held = heldRequest(`${h.bot.url}/status_check`, { 'content-type': 'application/json', 'content-length': '5000', 'x-gitlab-signature': 'a'.repeat(64) }, Buffer.from('{'));
    const answer = await held.answered;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: 'Body is larger than this route accepts (1024 bytes).' });
  });

  it('when bodies in flight have spent the buffer, the next is refused with 503 and Retry-After; the bot serves again once they are done', async () => {
    h = await startHarness({ WEBHOOK_BODY_LIMIT: '12kb', WEBHOOK_BUFFER_LIMIT: '16kb' });
    const url = `${h.bot.url}/status_check`;
    const signedLooking = { 'content-type': 'application/json', 'x-gitlab-signature': 'b'.repeat(64) };
    // Holds 12000 of the 16384 bytes while its body trickles in.
    const slow = heldRequest(url, { ...signedLooking, 'content-length': '12000' }, Buffer.from('{"object_kind":"merge_request",'));
    // The bot answers 100 Continue and reserves the bytes in the same turn of its event loop.
    await slow.started;

    const next = heldRequest(url, { ...signedLooking, 'content-length': '6000' }, Buffer.alloc(0));
    next.finish(Buffer.alloc(6000, 0x20));
    const busy = await next.answered;
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('5');
    expect(JSON.parse(busy.body)).toEqual({ error: expect.stringContaining('WEBHOOK_BUFFER_LIMIT') });

    // The slow one completes (its signature is wrong): its bytes are given back.
    slow.finish(Buffer.alloc(12000 - '{"object_kind":"merge_request",'.length, 0x20));
    expect((await slow.answered).status).toBe(401);
    expect((await h.receive()).status).toBe(202);
    expect(await rowsOnDisk(h)).toBe(1);
  });
});
