import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitLab } from '../../src/fakes/gitlab.js';

const TOKEN = 'glpat-fake-gitlab-test';
const HEAD = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);
const RESPONSES = '/api/v4/projects/42/merge_requests/128/status_check_responses';

async function post(gitlab: FakeGitLab, path: string, body: Record<string, unknown>, token = TOKEN): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gitlab.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'private-token': token },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const answer = (body: Record<string, unknown>) => ({ sha: HEAD, external_status_check_id: 7, status: 'passed', ...body });

describe('the stand-in GitLab refuses status check responses that GitLab refuses', () => {
  let gitlab: FakeGitLab;
  beforeEach(async () => {
    gitlab = await FakeGitLab.start(TOKEN);
    gitlab.setHead(42, 128, HEAD);
  });
  afterEach(async () => {
    await gitlab.close();
  });

  it('accepts a response for the HEAD with 201 and shows the newest one', async () => {
    const first = await post(gitlab, RESPONSES, answer({ status: 'failed' }));
    expect(first).toEqual({
      status: 201,
      json: { id: expect.any(Number), merge_request: expect.objectContaining({ iid: 128, project_id: 42 }), external_status_check: expect.objectContaining({ id: 7 }) },
    });
    expect((await post(gitlab, RESPONSES, answer({ status: 'passed' }))).status).toBe(201);
    expect(gitlab.statusOf(42, 128, 7, HEAD)).toBe('passed');
    expect(gitlab.accepted.map((r) => r.status)).toEqual(['failed', 'passed']);
  });

  it.each([
    { name: 'no sha', body: { sha: undefined }, error: 'sha is missing' },
    { name: 'no status', body: { status: undefined }, error: 'status is missing' },
    { name: 'no check id', body: { external_status_check_id: undefined }, error: 'external_status_check_id is missing' },
    { name: 'an unknown status', body: { status: 'approved' }, error: 'status does not have a valid value' },
  ])('400 for $name', async ({ body, error }) => {
    expect(await post(gitlab, RESPONSES, answer(body))).toEqual({ status: 400, json: { error } });
    expect(gitlab.accepted).toEqual([]);
  });

  it('400 for pending before GitLab 16.5, 201 from 16.5 on', async () => {
    const old = await FakeGitLab.start(TOKEN, undefined, null, { version: '16.4' });
    try {
      old.setHead(42, 128, HEAD);
      expect(await post(old, RESPONSES, answer({ status: 'pending' }))).toEqual({ status: 400, json: { error: 'status does not have a valid value' } });
      expect((await post(old, RESPONSES, answer({ status: 'failed' }))).status).toBe(201);
    } finally {
      await old.close();
    }
    expect((await post(gitlab, RESPONSES, answer({ status: 'pending' }))).status).toBe(201);
  });

  it('404 for a check the project does not have, or a merge request GitLab does not know', async () => {
    expect(await post(gitlab, RESPONSES, answer({ external_status_check_id: 8 }))).toEqual({ status: 404, json: { message: '404 Not found' } });
    gitlab.setStatusChecks(42, [{ id: 8, name: 'Security review' }]);
    expect((await post(gitlab, RESPONSES, answer({ external_status_check_id: 7 }))).status).toBe(404);
    expect((await post(gitlab, RESPONSES, answer({ external_status_check_id: 8 }))).status).toBe(201);
    expect((await post(gitlab, '/api/v4/projects/42/merge_requests/999/status_check_responses', answer({}))).status).toBe(404);
    expect(gitlab.accepted.map((r) => r.checkId)).toEqual([8]);
  });

  it('409 naming the current HEAD, not the SHA sent, once a push moved it', async () => {
    gitlab.setHead(42, 128, NEWER);
    expect(await post(gitlab, RESPONSES, answer({}))).toEqual({ status: 409, json: { message: `SHA does not match HEAD of source branch: ${NEWER}` } });
    expect(gitlab.statusOf(42, 128, 7, HEAD)).toBeNull();
  });

  it('401 for a wrong token or an unlicensed instance, 403 when the token may not approve', async () => {
    expect(await post(gitlab, RESPONSES, answer({}), 'glpat-wrong')).toEqual({ status: 401, json: { message: '401 Unauthorized' } });
    gitlab.licensed = false;
    expect(await post(gitlab, RESPONSES, answer({}))).toEqual({ status: 401, json: { message: '401 Unauthorized' } });
    gitlab.licensed = true;
    gitlab.mayApprove = false;
    expect(await post(gitlab, RESPONSES, answer({}))).toEqual({ status: 403, json: { message: '403 Forbidden' } });
    expect(gitlab.accepted).toEqual([]);
  });
});

describe('the stand-in GitLab paginates lists as GitLab does', () => {
  let gitlab: FakeGitLab;
  beforeEach(async () => {
    gitlab = await FakeGitLab.start(TOKEN);
    const emails = Array.from({ length: 250 }, (_, i) => `dev${i}@example.com`);
    gitlab.setAuthors(42, 128, { id: 17, username: 'dreyes', email: 'dana.reyes@example.com', commitEmails: emails });
  });
  afterEach(async () => {
    await gitlab.close();
  });

  const commits = (query: string) => fetch(`${gitlab.url}/api/v4/projects/42/merge_requests/128/commits${query}`, { headers: { 'private-token': TOKEN } });

  it('20 a page by default, with the headers and Link a client follows', async () => {
    const res = await commits('');
    expect((await res.json()) as unknown[]).toHaveLength(20);
    expect(Object.fromEntries(['x-page', 'x-per-page', 'x-next-page', 'x-prev-page', 'x-total', 'x-total-pages'].map((h) => [h, res.headers.get(h)]))).toEqual({
      'x-page': '1',
      'x-per-page': '20',
      'x-next-page': '2',
      'x-prev-page': '',
      'x-total': '250',
      'x-total-pages': '13',
    });
    expect(res.headers.get('link')).toContain(`<${gitlab.url}/api/v4/projects/42/merge_requests/128/commits?page=2&per_page=20>; rel="next"`);
  });

  it('per_page is capped at 100; the last page has no next', async () => {
    const first = await commits('?per_page=500');
    expect((await first.json()) as unknown[]).toHaveLength(100);
    expect(first.headers.get('x-total-pages')).toBe('3');
    const last = await commits('?per_page=100&page=3');
    const body = (await last.json()) as Array<{ author_email: string }>;
    expect(body.map((c) => c.author_email)).toEqual(Array.from({ length: 50 }, (_, i) => `dev${200 + i}@example.com`));
    expect(last.headers.get('x-next-page')).toBe('');
    expect(last.headers.get('x-prev-page')).toBe('2');
    expect(last.headers.get('link')).not.toContain('rel="next"');
  });
});
