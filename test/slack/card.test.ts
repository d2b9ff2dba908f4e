import { describe, expect, it } from 'vitest';
import type { Check, CheckState } from '../../src/domain/check.js';
import { renderCard, type Card } from '../../src/slack/card.js';
import { sampleCheck } from '../support/samples.js';

const SHA = '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4';
const OLD_SHA = '1111111122222222333333334444444455555555';

const check = sampleCheck;

const decided = (state: CheckState, changes: Partial<Check> = {}): Check =>
  check({
    state,
    decidedBy: 'U0APPROVER',
    decidedByName: 'sam',
    decidedVia: 'slack',
    decidedAt: new Date('2026-11-20T10:00:00Z'),
    report: 'reported',
    reportedAt: new Date('2026-11-20T10:00:01Z'),
    ...changes,
  });

type Element = { type: string; action_id?: string; style?: string; value?: string };
const buttons = (card: Card) =>
  card.blocks.filter((b) => b.type === 'actions').flatMap((b) => (b as unknown as { elements: Element[] }).elements);
const textOf = (card: Card) => `${card.text}\n${JSON.stringify(card.blocks)}`;

describe('the Slack card', () => {
  it('pending: names the merge request, has Approve and Reject, and warns GitLab shows failed meanwhile', () => {
    const card = renderCard(check());
    expect(buttons(card)).toEqual([
      expect.objectContaining({ action_id: 'approve_check', style: 'primary', value: '17' }),
      expect.objectContaining({ action_id: 'reject_check', style: 'danger', value: '17' }),
    ]);
    const text = textOf(card);
    expect(card.text).toBe('Approval needed: acme/payments-api!128 Retry card capture on gateway timeout (9f2c4e1b)');
    expect(text).toContain('<https://gitlab.example.com/acme/payments-api/-/merge_requests/128|acme/payments-api!128>');
    expect(text).toContain('`feature/capture-retry` → `main`');
    expect(text).toContain(`<https://gitlab.example.com/acme/payments-api/-/commit/${SHA}|9f2c4e1b>`);
    expect(text).toContain('Dana Reyes');
    expect(text).toContain('GitLab shows the check *pending* (or *failed* after 2 minutes on a new merge request). An approval turns it green.');
    expect(card.blocks.length).toBeLessThanOrEqual(50);
  });

  it('pending draft says it is a draft', () => {
    expect(textOf(renderCard(check({ draft: true })))).toContain('*Approval needed* (draft)');
  });

  it.each([
    {
      state: 'approved' as const,
      changes: {},
      says: [':large_green_circle: *Approved* by <@U0APPROVER>', 'Reported to GitLab: the check is *passed* for `9f2c4e1b`'],
    },
    {
      state: 'rejected' as const,
      changes: { reason: 'No rollback plan' },
      says: [':red_circle: *Rejected* by <@U0APPROVER>', '>No rollback plan', 'the check is *failed* for `9f2c4e1b`'],
    },
    { state: 'superseded' as const, changes: { decidedBy: null, decidedByName: null, decidedVia: null, decidedAt: null, report: 'none' as const }, says: ['*Superseded* by a newer push', 'Decide on the newest card'] },
    { state: 'closed' as const, changes: { decidedBy: null, decidedByName: null, decidedVia: null, decidedAt: null, report: 'none' as const }, says: ['The merge request was *closed* before anyone decided'] },
    { state: 'merged' as const, changes: { decidedBy: null, decidedByName: null, decidedVia: null, decidedAt: null, report: 'none' as const }, says: ['The merge request was *merged* before anyone decided'] },
    {
      state: 'stale' as const,
      changes: { report: 'failed' as const, reportError: 'GitLab answered 409 (the merge request has a newer commit): SHA does not match HEAD' },
      says: ['Decided by <@U0APPROVER>', 'GitLab refused this decision', 'Decide on the newest card'],
    },
  ])('$state: no buttons, no waiting note, and says what happened', ({ state, changes, says }) => {
    const card = renderCard(decided(state, changes));
    expect(buttons(card)).toEqual([]);
    const text = textOf(card);
    for (const words of says) expect(text).toContain(words);
    expect(text).not.toContain('after 2 minutes');
    expect(card.text).not.toMatch(/^Approval needed/);
  });

  it('a decision made on the web names the web user', () => {
    const text = textOf(renderCard(decided('approved', { decidedBy: 'alice', decidedByName: 'alice', decidedVia: 'web' })));
    expect(text).toContain('*Approved* by alice (web)');
  });

  it('a report GitLab refused says so, with the reason', () => {
    const card = renderCard(decided('approved', { report: 'failed', reportError: 'GitLab answered 404 (the check is not in this project, or the token cannot see it): 404 Not Found', reportedAt: null }));
    const text = textOf(card);
    expect(text).toContain('*GitLab refused the report*: GitLab answered 404');
    expect(text).toContain('The check in GitLab did not change.');
    expect(text).not.toContain('Reported to GitLab');
    // Notifications show the fallback text: it must not read as a plain approval.
    expect(card.text).toMatch(/^Approved, but GitLab refused the report: acme\/payments-api!128/);
    expect(renderCard(decided('approved', { report: 'reported' })).text).toMatch(/^Approved: /);
  });

  it('a report on its way, and one being retried', () => {
    expect(textOf(renderCard(decided('approved', { report: 'sending', reportedAt: null })))).toContain('Reporting to GitLab…');
    expect(textOf(renderCard(decided('approved', { report: 'sending', reportError: 'GitLab answered 503: down', reportedAt: null })))).toContain(
      'Not in GitLab yet, retrying: GitLab answered 503: down.',
    );
  });

  it('escapes a title, branch, reason and names that carry Slack markup', () => {
    const card = renderCard(
      decided('rejected', {
        title: 'Fix <!channel> & <@U123> > <https://evil.example|login>',
        sourceBranch: 'feat/<!here>',
        reason: 'See <!everyone> & fix',
        commitAuthor: '<@U999>',
      }),
    );
    const text = textOf(card);
    for (const raw of ['<!channel>', '<@U123>', '<!here>', '<!everyone>', '<@U999>', '<https://evil.example|login>']) expect(text).not.toContain(raw);
    expect(text).toContain('Fix &lt;!channel&gt; &amp; &lt;@U123&gt; &gt; &lt;https://evil.example|login&gt;');
    expect(text).toContain('See &lt;!everyone&gt; &amp; fix');
    expect(card.text).toContain('Fix &lt;!channel&gt; &amp; &lt;@U123&gt;');
  });

  it('a push after an earlier commit links the changes since then', () => {
    const text = textOf(renderCard(check({ previousSha: OLD_SHA })));
    expect(text).toContain(`<https://gitlab.example.com/acme/payments-api/-/compare/${OLD_SHA}...${SHA}|changes since 11111111>`);
  });

  it('the first commit has no compare link', () => {
    expect(textOf(renderCard(check()))).not.toContain('/-/compare/');
  });

  it('a card that could not be posted or updated says why', () => {
    expect(textOf(renderCard(check({ cardError: 'The card could not be updated: Slack refused: <x>' })))).toContain(':warning: The card could not be updated: Slack refused: &lt;x&gt;');
  });
});
