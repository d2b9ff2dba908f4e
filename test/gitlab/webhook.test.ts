import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitlabSignature, sendStatusCheck } from '../../src/fakes/gitlab.js';
import { SECRETS, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { rowsOnDisk } from '../support/database.js';

interface Call {
  body: string;
  contentType?: string;
  /** A signature header to send; by default the body signed with the right secret. */
  signature?: string | null;
}

async function post(h: Harness, { body, contentType = 'application/json', signature }: Call): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': contentType };
  const sig = signature === undefined ? gitlabSignature(body, SECRETS.webhookSecret) : signature;
  if (sig !== null) headers['x-gitlab-signature'] = sig;
  const res = await fetch(`${h.bot.url}/status_check`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const good = () => JSON.stringify(statusCheck());
const without = (mutate: (p: ReturnType<typeof statusCheck>) => void) => {
  const p = statusCheck();
  mutate(p);
  return JSON.stringify(p);
};

const badCalls: Array<{ name: string; call: () => Call; status: number; error: RegExp }> = [
  { name: 'an unsigned call', call: () => ({ body: good(), signature: null }), status: 401, error: /X-Gitlab-Signature header is missing/ },
  {
    name: 'a call signed with the wrong secret',
    call: () => ({ body: good(), signature: gitlabSignature(good(), 'not-the-shared-secret') }),
    status: 401,
    error: /X-Gitlab-Signature does not match/,
  },
  {
    name: 'a signature of another body',
    call: () => ({ body: good(), signature: gitlabSignature(JSON.stringify(statusCheck({ title: 'Something else' })), SECRETS.webhookSecret) }),
    status: 401,
    error: /X-Gitlab-Signature does not match/,
  },
  { name: 'a body that is not JSON', call: () => ({ body: '{"object_kind": "merge_request",' }), status: 400, error: /not valid JSON/ },
  { name: 'a JSON array', call: () => ({ body: JSON.stringify([statusCheck()]) }), status: 400, error: /must be a JSON object/ },
  {
    name: 'a merge request without its last commit',
    call: () => ({ body: without((p) => delete (p.object_attributes as Record<string, unknown>).last_commit) }),
    status: 400,
    error: /object_attributes\.last_commit/,
  },
  { name: 'another kind of event', call: () => ({ body: without((p) => (p.object_kind = 'push')) }), status: 400, error: /object_kind/ },
  { name: 'a text/plain body', call: () => ({ body: good(), contentType: 'text/plain' }), status: 415, error: /Content-Type must be application\/json/ },
  {
    name: 'a javascript: link as the merge request URL',
    call: () => ({ body: without((p) => (p.object_attributes.url = 'javascript:alert(document.cookie)')) }),
    status: 400,
    error: /object_attributes\.url/,
  },
];

describe('receiving a status check call from GitLab', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it.each(badCalls)('refuses $name with $status, saves nothing and keeps serving', async ({ call, status, error }) => {
    const answer = await post(h, call());
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ error: expect.stringMatching(error) });
    expect(await h.bot.store.countPending()).toBe(0);
    expect(await rowsOnDisk(h)).toBe(0);

    const next = await h.receive();
    expect(next.status).toBe(202);
    expect(await rowsOnDisk(h)).toBe(1);
  });

  it('accepts a signed call with 202 and the check, and the same call again gives the same check', async () => {
    const first = await h.receive();
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ id: expect.any(Number), state: 'pending' });
    const again = await h.receive();
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: first.body.id, state: 'pending' });
    expect(await rowsOnDisk(h)).toBe(1);
    expect(await h.bot.store.getCheck(first.body.id as number)).toMatchObject({
      projectPath: 'acme/payments-api',
      mergeRequestIid: 128,
      sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4',
      statusCheckId: 7,
    });
  });

  it('answers GitLab before Slack is involved: a Slack outage does not fail the call', async () => {
    h.slack.queue('chat.postMessage', { status: 500, body: 'x' });
    const answer = await h.receive();
    expect(answer.status).toBe(202);
    const id = answer.body.id as number;
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending' });
    expect(await rowsOnDisk(h)).toBe(1);
    // Slack did refuse the first card; it is posted on a later try.
    await h.slack.refused.waitFor((c) => c.method === 'chat.postMessage');
    const [card] = await h.slack.waitFor('chat.postMessage');
    expect(String(card!.body.text)).toContain('acme/payments-api!128');
    expect(h.slack.calls('chat.postMessage')).toHaveLength(1);
  });
});

describe('limits and modes of the status check endpoint', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('refuses a body over WEBHOOK_BODY_LIMIT with 413 and keeps serving', async () => {
    h = await startHarness({ WEBHOOK_BODY_LIMIT: '1kb' });
    const big = statusCheck({ title: 'x'.repeat(2048) });
    const body = JSON.stringify(big);
    expect(body.length).toBeGreaterThan(2048);
    const answer = await post(h, { body });
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({ error: expect.stringMatching(/larger than this route accepts \(1024 bytes\)/) });
    expect(await rowsOnDisk(h)).toBe(0);

    // The bot still serves: a call with only the fields the bot reads fits in 1 KB.
    const full = statusCheck();
    const mr = full.object_attributes;
    const small = {
      object_kind: 'merge_request',
      project: { id: 42, path_with_namespace: 'acme/payments-api', web_url: 'https://gitlab.example.com/acme/payments-api' },
      object_attributes: {
        iid: mr.iid,
        title: mr.title,
        url: mr.url,
        source_branch: mr.source_branch,
        target_branch: mr.target_branch,
        state: mr.state,
        last_commit: { id: mr.last_commit.id },
      },
      external_approval_rule: full.external_approval_rule,
    };
    expect(JSON.stringify(small).length).toBeLessThan(1024);
    const next = await post(h, { body: JSON.stringify(small) });
    expect(next.status).toBe(202);
    expect(await rowsOnDisk(h)).toBe(1);
  });

  it('with no secret and ALLOW_UNSIGNED_WEBHOOKS=true, accepts unsigned calls (GitLab older than 17.3)', async () => {
    h = await startHarness({ GITLAB_WEBHOOK_SECRET: '', ALLOW_UNSIGNED_WEBHOOKS: 'true' });
    const answer = await sendStatusCheck(`${h.bot.url}/status_check`, statusCheck(), null);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ id: expect.any(Number), state: 'pending' });
    expect(await rowsOnDisk(h)).toBe(1);
  });
});
