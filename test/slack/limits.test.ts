import { DEFAULT_AUTHOR } from '../../src/fakes/gitlab.js';
import { afterEach, describe, expect, it } from 'vitest';
import { messageProblems, messageTooLong, viewProblems } from '../../src/fakes/block-kit.js';
import type { Check, CheckState } from '../../src/domain/check.js';
import { renderCard } from '../../src/slack/card.js';
import { fit } from '../../src/slack/mrkdwn.js';
import { renderPendingList } from '../../src/slack/pending-list.js';
import { reasonModal } from '../../src/slack/listeners/views/reason-modal.js';
import { APPROVER, pendingAnswer, SECOND_APPROVER, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { sampleEvent } from '../support/samples.js';

/** What people and GitLab may send at their longest, full of what escaping lengthens. */
const HOSTILE = {
  title: '&'.repeat(255),
  projectPath: `acme/${'p'.repeat(245)}`,
  author: '<&>'.repeat(1000),
  reason: '<&>'.repeat(666) + '<&',
  branch: '&'.repeat(255),
  statusCheckName: '<'.repeat(255),
  webName: '&'.repeat(255),
  gitlabError: `400 Bad request ${'<&>'.repeat(2000)}`,
};

/** An escape cut short: `&am`, `&l`, `&` followed by anything but a whole escape. */
const BROKEN_ESCAPE = /&(?!amp;|lt;|gt;)/;

function hostileCheck(state: CheckState, changes: Partial<Check> = {}): Check {
  const projectUrl = `https://gitlab.example.com/${HOSTILE.projectPath}`;
  return {
    ...sampleEvent,
    title: HOSTILE.title,
    projectPath: HOSTILE.projectPath,
    projectUrl,
    url: `${projectUrl}/-/merge_requests/128`,
    sourceBranch: HOSTILE.branch,
    targetBranch: HOSTILE.branch,
    commitAuthor: HOSTILE.author,
    statusCheckName: HOSTILE.statusCheckName,
    draft: true,
    id: 17,
    state,
    receivedAt: new Date('2026-11-20T09:30:02Z'),
    previousSha: '1111111122222222333333334444444455555555',
    decidedBy: state === 'pending' ? null : HOSTILE.webName,
    decidedByName: state === 'pending' ? null : HOSTILE.webName,
    decidedVia: state === 'pending' ? null : 'web',
    decidedAt: state === 'pending' ? null : new Date('2026-11-20T10:00:00Z'),
    reason: HOSTILE.reason,
    report: 'failed',
    reportError: HOSTILE.gitlabError,
    reportedAt: null,
    slackChannel: 'C0APPROVALS',
    slackTs: '1700000000.000100',
    cardError: HOSTILE.gitlabError,
    approvalsRequired: 30,
    ruleName: 'default',
    approvals: Array.from({ length: 29 }, (_, i) => ({ by: `${HOSTILE.webName}${i}`, name: `${HOSTILE.webName}${i}`, via: 'web' as const, at: new Date() })),
    ...changes,
  };
}

const STATES: CheckState[] = ['pending', 'approved', 'rejected', 'superseded', 'closed', 'merged', 'stale'];

describe('escape, then fit', () => {
  it.each([
    { text: '&'.repeat(255), max: 3000, expected: '&amp;'.repeat(255) },
    { text: '&'.repeat(255), max: 12, expected: '&amp;&amp;…' },
    { text: '<<<', max: 9, expected: '&lt;&lt;…' },
    { text: 'a<b', max: 6, expected: 'a&lt;b' },
    { text: 'a<bc', max: 6, expected: 'a&lt;…' },
    { text: 'a<b', max: 5, expected: 'a…' },
    { text: '😀'.repeat(10), max: 5, expected: '😀😀😀😀…' },
    { text: 'short', max: 5, expected: 'short' },
  ])('fit($text.length characters, $max) never cuts an escape or a character', ({ text, max, expected }) => {
    const fitted = fit(text, max);
    expect(fitted).toBe(expected);
    expect([...fitted].length).toBeLessThanOrEqual(max);
    expect(fitted).not.toMatch(BROKEN_ESCAPE);
  });
});

describe('every card, modal and list stays within Block Kit’s limits whatever people typed', () => {
  it.each(STATES)('a %s card with every field at its longest', (state) => {
    for (const report of ['none', 'sending', 'reported', 'failed'] as const) {
      const card = renderCard(hostileCheck(state, { report }));
      expect(messageProblems(card.blocks)).toEqual([]);
      expect(messageTooLong(card.blocks)).toBe(false);
      for (const block of card.blocks) expect(JSON.stringify(block)).not.toMatch(BROKEN_ESCAPE);
    }
  });

  it('the modal asking for a reason', () => {
    for (const outcome of ['reject', 'approve'] as const) expect(viewProblems(reasonModal(outcome, hostileCheck('pending'), 'C0APPROVALS'))).toEqual([]);
  });

  it('the /pending answer with 60 long titles', () => {
    const checks = Array.from({ length: 60 }, (_, i) => hostileCheck('pending', { id: i + 1 }));
    const answer = renderPendingList(checks, 60, new Date('2026-11-20T12:00:00Z'), 'https://approvals.example.com/approvals/');
    expect(messageProblems(answer.blocks)).toEqual([]);
    // Each block within its limits is not enough: Slack also refuses blocks too long together.
    expect(messageTooLong(answer.blocks)).toBe(false);
    expect(JSON.stringify(answer.blocks)).toContain('more: <https://approvals.example.com/approvals/|see them all on the web list>');
  });

  it('the /pending answer lists all fifteen when titles are ordinary', () => {
    const checks = Array.from({ length: 60 }, (_, i) => ({ ...sampleEvent, id: i + 1, receivedAt: new Date('2026-11-20T09:30:02Z') }) as Check);
    const answer = renderPendingList(checks, 60, new Date('2026-11-20T12:00:00Z'), 'https://approvals.example.com/approvals/');
    expect(answer.blocks.filter((b) => b.type === 'actions')).toHaveLength(15);
    expect(JSON.stringify(answer.blocks)).toContain('…and 45 more');
  });
});

describe('through the running bot and the strict Slack stand-in', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  /** The sample merge request with every field people control at its longest. */
  function hostileCall(iid = 128) {
    const p = statusCheck({ iid, title: HOSTILE.title });
    const webUrl = `https://gitlab.example.com/${HOSTILE.projectPath}`;
    Object.assign(p.project, { path_with_namespace: HOSTILE.projectPath, web_url: webUrl });
    const mr = p.object_attributes as Record<string, unknown> & { last_commit: Record<string, unknown> };
    Object.assign(mr, { url: `${webUrl}/-/merge_requests/${iid}`, source_branch: HOSTILE.branch });
    mr.last_commit.author = { name: HOSTILE.author };
    return p;
  }

  it('a card, its modal and its rejected card for a merge request full of hostile text are all accepted', async () => {
    h = await startHarness();
    // The author has a Slack account, so the direct message about the decision is sent too, within limits.
    h.slack.addPerson('U0AUTHOR', DEFAULT_AUTHOR.email);
    const id = (await h.receive(hostileCall())).body.id as number;
    const [card] = await h.slack.waitFor('chat.postMessage');
    const text = JSON.stringify(card!.body.blocks);
    expect(text).toContain(`${'&amp;'.repeat(200)}`);
    expect(text).not.toMatch(BROKEN_ESCAPE);

    await h.click(APPROVER, 'reject_check', id);
    const [modal] = await h.slack.waitFor('views.open');
    expect(JSON.stringify(modal!.body.view)).toContain('&amp;&amp;');

    // GitLab refuses the report with a long message of its own: the card shows it, within limits too.
    h.gitlab.queue({ status: 400, body: { message: HOSTILE.gitlabError } });
    expect((await h.submitReject(APPROVER, id, HOSTILE.reason)).status).toBe(200);
    const [rejected] = await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('GitLab refused the report'));
    expect(JSON.stringify(rejected!.body.blocks)).toContain('&gt;&lt;&amp;&gt;');
    expect(JSON.stringify(rejected!.body.blocks)).not.toMatch(BROKEN_ESCAPE);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', reason: HOSTILE.reason });
    const [told] = await h.slack.waitFor('chat.postMessage', 1, (c) => c.body.channel === 'U0AUTHOR');
    expect(JSON.stringify(told!.body.blocks)).not.toMatch(BROKEN_ESCAPE);
    expect(h.slack.refused.calls).toEqual([]);
  });

  it('/pending with 60 long-titled checks waiting says how many and links to the web list for the rest', async () => {
    h = await startHarness({ BASE_PATH: '/approvals' });
    for (let iid = 1; iid <= 60; iid++) await h.receive(hostileCall(iid));
    const answer = await pendingAnswer(h, SECOND_APPROVER);
    const text = JSON.stringify(answer.blocks);
    expect(text).toContain('*60 checks waiting for a decision*');
    // As many as fit in one message Slack accepts; the count of the rest is exact.
    const listed = (answer.blocks as Array<{ type: string }>).filter((b) => b.type === 'actions').length;
    expect(listed).toBeGreaterThanOrEqual(5);
    expect(text).toContain(`…and ${60 - listed} more`);
    expect(text).toContain('<https://approvals.example.com/approvals/|see them all on the web list>');
    expect(h.slack.refused.calls.filter((c) => c.method === 'response_url')).toEqual([]);
  }, 60_000);
});
