import { afterEach, describe, expect, it } from 'vitest';
import type { SlackCall } from '../../src/fakes/slack.js';
import { APPROVER, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { buttonsOf, cardText, checkIdOf } from '../support/cards.js';
import { eventually } from '../support/eventually.js';

const FIRST = '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4'; // the fixture's commit
const PROJECT_URL = 'https://gitlab.example.com/acme/payments-api';

/** Whether a chat.update call changes this check's card (once its card is written down). */
async function updatesCardOf(h: Harness, checkId: number): Promise<(u: SlackCall) => boolean> {
  const ts = await eventually('the card written down', async () => (await h.bot.store.getCheck(checkId))?.slackTs ?? undefined);
  return (u) => u.body.ts === ts;
}

describe('a card follows its merge request', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  /** Receives a check and waits for its card. */
  async function posted(payload = statusCheck()): Promise<{ id: number; card: SlackCall }> {
    const received = await h.receive(payload);
    expect(received.status).toBe(202);
    const id = received.body.id as number;
    const [card] = await h.slack.waitFor('chat.postMessage', 1, (c) => checkIdOf(c) === id);
    return { id, card: card! };
  }

  it('a new push supersedes the waiting check: the old card loses its buttons, the new card links the changes', async () => {
    h = await startHarness();
    const old = await posted();
    const next = await posted(statusCheck({ sha: sha(2) }));

    expect(await h.bot.store.getCheck(old.id)).toMatchObject({ state: 'superseded', sha: FIRST });
    expect(await h.bot.store.getCheck(next.id)).toMatchObject({ state: 'pending', sha: sha(2), previousSha: FIRST });
    const [update] = await h.slack.waitFor('chat.update', 1, await updatesCardOf(h, old.id));
    expect(buttonsOf(update!)).toEqual([]);
    expect(cardText(update!)).toContain('*Superseded* by a newer push before anyone decided');
    expect(cardText(next.card)).toContain(`${PROJECT_URL}/-/compare/${FIRST}...${sha(2)}`);
    expect(cardText(next.card)).toContain(`changes since ${FIRST.slice(0, 8)}`);
    expect(buttonsOf(next.card).map((b) => b.value)).toEqual([String(next.id), String(next.id)]);
  });

  it('a push while Slack holds the cards back: only the newest commit gets a card', async () => {
    h = await startHarness();
    // Slack pauses the whole card lane for a second; the merge request moves on meanwhile.
    h.slack.queue('chat.postMessage', { status: 429, headers: { 'Retry-After': '1' }, body: { ok: false, error: 'ratelimited' } });
    const old = (await h.receive()).body.id as number;
    const next = await posted(statusCheck({ sha: sha(2) }));
    // A third merge request's card is due after the old check's retry: that retry is done by now.
    await posted(statusCheck({ iid: 129 }));

    expect(h.slack.calls('chat.postMessage').map(checkIdOf)).not.toContain(old);
    expect(h.slack.calls('chat.postMessage').filter((c) => cardText(c).includes('Superseded'))).toEqual([]);
    expect(await h.bot.store.getCheck(old)).toMatchObject({ state: 'superseded', slackTs: null, cardError: null });
    expect(cardText(next.card)).toContain(`${PROJECT_URL}/-/compare/${FIRST}...${sha(2)}`);
    expect(await h.bot.store.deliveryStats(Date.now())).toMatchObject({ failed: 0 });
  });

  it('a force-push back to an earlier commit: that commit waits for a decision again, on a fresh card', async () => {
    h = await startHarness();
    const first = await posted();
    const second = await posted(statusCheck({ sha: sha(2) }));
    await h.slack.waitFor('chat.update', 1, await updatesCardOf(h, first.id));

    // The branch is reset to the first commit: GitLab calls the check for it again.
    const back = await h.receive(statusCheck({ sha: FIRST }));
    expect(back.body).toEqual({ id: first.id, state: 'pending' });
    const [, , fresh] = await h.slack.waitFor('chat.postMessage', 3);
    expect(checkIdOf(fresh!)).toBe(first.id);
    const [retired] = await h.slack.waitFor('chat.update', 1, await updatesCardOf(h, second.id));
    expect(cardText(retired!)).toContain('*Superseded*');
    expect((await h.bot.store.getCheck(second.id))?.state).toBe('superseded');

    await h.click(APPROVER, 'approve_check', first.id);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ sha: FIRST, status: 'passed' });
  });

  it('the newest commit waits again after a call for an older one arrived late', async () => {
    h = await startHarness();
    const first = await posted();
    const second = await posted(statusCheck({ sha: sha(2) }));
    // GitLab's call about the first commit arrives late (a retried delivery), then one for the HEAD.
    await h.receive(statusCheck({ sha: FIRST }));
    await h.receive(statusCheck({ sha: sha(2), title: 'Retry card capture on gateway timeout (v2)' }));

    expect((await h.bot.store.getCheck(second.id))?.state).toBe('pending');
    expect((await h.bot.store.pendingChecks(10)).map((c) => c.id)).toEqual([second.id]);
    await h.click(APPROVER, 'approve_check', second.id);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ sha: sha(2), status: 'passed' });
    expect((await h.bot.store.getCheck(first.id))?.state).toBe('superseded');
  });

  it.each([
    { state: 'closed', words: 'The merge request was *closed* before anyone decided' },
    { state: 'merged', words: 'The merge request was *merged* before anyone decided' },
  ])('a merge request $state before anyone decided: the check is $state and its card says so', async ({ state, words }) => {
    h = await startHarness();
    const { id } = await posted();
    await h.receive(statusCheck({ state }));

    const [update] = await h.slack.waitFor('chat.update', 1, await updatesCardOf(h, id));
    expect(buttonsOf(update!)).toEqual([]);
    expect(cardText(update!)).toContain(words);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state });
    expect(h.gitlab.responses).toEqual([]);
  });

  it('a closed merge request opened again with the same commit gets a fresh card to decide on', async () => {
    h = await startHarness();
    const { id } = await posted();
    await h.receive(statusCheck({ state: 'closed' }));
    const [closed] = await h.slack.waitFor('chat.update', 1, await updatesCardOf(h, id));
    expect(cardText(closed!)).toContain('*closed*');

    await h.receive(statusCheck({ state: 'opened' }));
    const [, fresh] = await h.slack.waitFor('chat.postMessage', 2);
    expect(checkIdOf(fresh!)).toBe(id);
    expect(cardText(fresh!)).toContain('Approval needed');
    expect((await h.bot.store.getCheck(id))?.state).toBe('pending');

    await h.click(APPROVER, 'approve_check', id);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ sha: FIRST, status: 'passed' });
    // The decision shows on the fresh card; the closed one is left as it was.
    const [done] = await h.slack.waitFor('chat.update', 1, (u) => cardText(u).includes('Reported to GitLab'));
    expect(done!.body.ts).not.toBe(closed!.body.ts);
  });

  it('a draft gets its card once it is marked ready, and only one', async () => {
    h = await startHarness();
    const draft = (await h.receive(statusCheck({ draft: true }))).body.id as number;
    // Another merge request's card goes out after the draft was received: the draft got none.
    const other = await posted(statusCheck({ iid: 129 }));
    expect(h.slack.calls('chat.postMessage').map(checkIdOf)).toEqual([other.id]);
    expect(await h.bot.store.getCheck(draft)).toMatchObject({ state: 'pending', draft: true, slackTs: null });

    const ready = await posted(statusCheck({ draft: false }));
    expect(ready.id).toBe(draft);
    expect(cardText(ready.card)).not.toContain('(draft)');

    // The same "ready" call again, and one more merge request: still one card for the draft.
    await h.receive(statusCheck({ draft: false }));
    await posted(statusCheck({ iid: 130 }));
    expect(h.slack.calls('chat.postMessage').filter((c) => checkIdOf(c) === draft)).toHaveLength(1);
  });

  it('with DRAFT_CARDS=post a draft gets its card at once, marked as a draft', async () => {
    h = await startHarness({ DRAFT_CARDS: 'post' });
    const { card } = await posted(statusCheck({ draft: true }));
    expect(cardText(card)).toContain('Approval needed* (draft)');
  });

  it.each([
    { what: 'superseded', retire: () => statusCheck({ sha: sha(2) }), words: 'this commit was superseded by a newer push' },
    { what: 'closed', retire: () => statusCheck({ state: 'closed' }), words: 'was closed; there is nothing to decide' },
  ])('a click on a $what check is refused privately and nothing reaches GitLab', async ({ what, retire, words }) => {
    h = await startHarness();
    const { id } = await posted();
    await h.receive(retire());
    expect((await h.bot.store.getCheck(id))?.state).toBe(what);

    expect((await h.click(APPROVER, 'approve_check', id)).status).toBe(200);
    const [refusal] = await h.slack.waitFor('response_url');
    expect(refusal!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(refusal!.body.text)).toContain(`acme/payments-api!128`);
    expect(String(refusal!.body.text)).toContain(words);
    // Refused before anything was written: no report can be waiting to go out.
    expect(await h.bot.store.decisionsOf(id)).toEqual([]);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: what, report: 'none' });
    expect(h.gitlab.responses).toEqual([]);
  });

  it('GitLab answers 409 (a newer commit): the check is stale and the card says nothing was reported', async () => {
    h = await startHarness();
    const { id } = await posted();
    h.gitlab.setHead(42, 128, sha(99));
    await h.click(APPROVER, 'approve_check', id);

    const [update] = await h.slack.waitFor('chat.update', 1, (u) => cardText(u).includes('othing was reported'));
    expect(cardText(update!)).toContain('Not reported (newer commit)');
    expect(cardText(update!)).toContain('GitLab refused this decision');
    expect(buttonsOf(update!)).toEqual([]);
    expect(h.slack.calls('chat.update').filter((u) => cardText(u).includes('Reported to GitLab'))).toEqual([]);
    expect(h.gitlab.responses).toHaveLength(1);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'stale', report: 'failed', reportError: expect.stringContaining('409') });
  });

  it('a decision reported to GitLab is never reported with another outcome', async () => {
    h = await startHarness();
    const { id } = await posted();
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);

    await h.click(APPROVER, 'reject_check', id);
    const [refusal] = await h.slack.waitFor('response_url');
    expect(String(refusal!.body.text)).toContain(`was already approved by ${APPROVER.toLowerCase()}`);
    // Even a reject form submitted straight away (a modal opened earlier) is refused, privately.
    const submitted = await h.submitReject(APPROVER, id, 'changed my mind');
    expect(submitted.status).toBe(200);
    const [told] = await h.slack.waitFor('chat.postEphemeral');
    expect(String(told!.body.text)).toContain(`was already approved by ${APPROVER.toLowerCase()}`);

    expect(h.slack.calls('views.open')).toEqual([]);
    expect((await h.bot.store.decisionsOf(id)).map((d) => d.outcome)).toEqual(['approve']);
    expect(h.gitlab.responses.map((r) => r.body.status)).toEqual(['passed']);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', report: 'reported' });
  });
});
