import { describe, expect, it } from 'vitest';
import type { Check, CheckState, MergeRequestEvent } from '../../src/domain/check.js';
import {
  canReportAgain,
  cardDueNow,
  hasCard,
  planAfterVote,
  planKnownCommit,
  planNudge,
  planRegate,
  planReportFailure,
  planVote,
  ruleChanged,
  type ReportFailure,
  type Tally,
} from '../../src/domain/lifecycle.js';
import { tallyApproval } from '../../src/domain/people.js';
import { planReceipt } from '../../src/domain/rules.js';
import type { Reminders } from '../../src/domain/schedule.js';
import { sampleCheck } from '../support/samples.js';

const t = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute));

const event = (changes: Partial<MergeRequestEvent> = {}): MergeRequestEvent => ({
  projectId: 7,
  projectPath: 'acme/api',
  projectUrl: 'https://gitlab.example/acme/api',
  mergeRequestIid: 12,
  title: 'Retry on timeout',
  url: 'https://gitlab.example/acme/api/-/merge_requests/12',
  sourceBranch: 'feature',
  targetBranch: 'main',
  sha: 'b'.repeat(40),
  statusCheckId: 3,
  statusCheckName: 'Change approval',
  commitAuthor: 'Dana',
  triggeredBy: 'dana',
  mergeRequestState: 'opened',
  draft: false,
  updatedAt: t(10),
  ...changes,
});

const check = (id: number, sha: string, state: CheckState, changes: Partial<Check> = {}): Check =>
  sampleCheck({ ...event({ sha, updatedAt: t(5) }), id, state, receivedAt: t(0), slackChannel: 'C1', slackTs: '1.2', ...changes });

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('receiving a call: planReceipt', () => {
  it.each<{ story: string; event: MergeRequestEvent; known: Check[]; plan: Partial<ReturnType<typeof planReceipt>> }>([
    { story: 'a first call: a new pending check', event: event(), known: [], plan: { create: true, state: 'pending', retire: [], late: false, previousSha: null } },
    {
      story: 'a push: the older pending check is superseded, the new one links to it',
      event: event({ sha: B }),
      known: [check(1, A, 'pending')],
      plan: { create: true, state: 'pending', retire: [{ id: 1, to: 'superseded' }], previousSha: A },
    },
    {
      story: 'closed: the pending check ends closed',
      event: event({ sha: A, mergeRequestState: 'closed' }),
      known: [check(1, A, 'pending')],
      plan: { create: false, state: 'closed', retire: [{ id: 1, to: 'closed' }] },
    },
    {
      story: 'merged: the pending check ends merged, a decided one keeps its decision',
      event: event({ sha: A, mergeRequestState: 'merged' }),
      known: [check(1, A, 'approved')],
      plan: { create: false, state: 'approved', retire: [] },
    },
    {
      story: 'reopened with the same commit: the closed check waits again',
      event: event({ sha: A }),
      known: [check(1, A, 'closed')],
      plan: { create: false, state: 'pending', reopen: true },
    },
    {
      story: 'a force-push back to a superseded commit: it waits again, the newer one is superseded',
      event: event({ sha: A }),
      known: [check(1, A, 'superseded'), check(2, B, 'pending')],
      plan: { create: false, state: 'pending', reopen: true, retire: [{ id: 2, to: 'superseded' }] },
    },
    {
      story: 'a late call about an older commit: recorded as superseded, nothing retired',
      event: event({ sha: A, updatedAt: t(1) }),
      known: [check(2, B, 'pending')],
      plan: { create: true, state: 'superseded', retire: [], late: true },
    },
    {
      story: 'the same commit again: nothing new, the decision stands',
      event: event({ sha: A }),
      known: [check(1, A, 'rejected')],
      plan: { create: false, state: 'rejected', reopen: false, retire: [] },
    },
  ])('$story', ({ event, known, plan }) => {
    expect(planReceipt(event, known)).toMatchObject(plan);
  });
});

describe('votes: one rejection rejects, N different people approve', () => {
  const never = (): Tally => {
    throw new Error('a rejection does not count approvals');
  };
  it.each<{ story: string; outcome: 'approve' | 'reject'; prior: string[]; account: string; required: number; result: Tally }>([
    { story: 'one approval of one needed decides', outcome: 'approve', prior: [], account: 'slack:U1', required: 1, result: 'decides' },
    { story: 'the first of two approvals counts', outcome: 'approve', prior: [], account: 'slack:U1', required: 2, result: 'counted' },
    { story: 'a second person completes the quorum', outcome: 'approve', prior: ['slack:U1'], account: 'slack:U2', required: 2, result: 'decides' },
    { story: 'the same person twice is counted once', outcome: 'approve', prior: ['slack:U1'], account: 'slack:U1', required: 2, result: 'already_counted' },
    { story: 'one rejection rejects, whatever the quorum', outcome: 'reject', prior: ['slack:U1'], account: 'slack:U2', required: 3, result: 'decides' },
  ])('$story', ({ outcome, prior, account, required, result }) => {
    const tally = outcome === 'reject' ? never : () => tallyApproval(prior, account, [], required);
    expect(planVote(outcome, tally)).toBe(result);
  });

  it.each([
    { story: 'an approval that decides is reported passed', outcome: 'approve' as const, result: 'decided' as const, reason: null, comments: false, plan: { report: { status: 'passed' }, audit: 'approved', note: false, tellAuthor: 'approved' } },
    { story: 'a rejection is reported failed, its reason a note', outcome: 'reject' as const, result: 'decided' as const, reason: 'no tests', comments: false, plan: { report: { status: 'failed', sha: A }, audit: 'rejected', note: true, tellAuthor: 'rejected' } },
    { story: 'a counted approval reports nothing yet', outcome: 'approve' as const, result: 'counted' as const, reason: 'looks fine', comments: false, plan: { report: null, audit: 'approval_counted', note: false, tellAuthor: null } },
    { story: 'an approval comment is a note when the rule asks for comments', outcome: 'approve' as const, result: 'counted' as const, reason: 'looks fine', comments: true, plan: { report: null, note: true } },
  ])('$story', ({ outcome, result, reason, comments, plan }) => {
    expect(planAfterVote(check(1, A, 'pending'), outcome, result, reason, comments)).toMatchObject(plan);
  });
});

describe('re-gating: an approval is withdrawn, a rejection stands', () => {
  it.each<{ state: CheckState; withdraw: boolean; after: CheckState }>([
    { state: 'approved', withdraw: true, after: 'pending' },
    { state: 'stale', withdraw: true, after: 'pending' },
    { state: 'rejected', withdraw: false, after: 'rejected' },
    { state: 'pending', withdraw: false, after: 'pending' },
    { state: 'merged', withdraw: false, after: 'merged' },
  ])('$state -> $after', ({ state, withdraw, after }) => {
    expect(planRegate({ state })).toEqual({ withdraw, state: after });
  });

  it.each([
    { story: 'same rule, same quorum', was: { ruleName: 'default', approvalsRequired: 1 }, rule: { name: 'default', required: 1 }, changed: false },
    { story: 'another rule', was: { ruleName: 'default', approvalsRequired: 1 }, rule: { name: 'payments', required: 1 }, changed: true },
    { story: 'the quorum changed', was: { ruleName: 'default', approvalsRequired: 1 }, rule: { name: 'default', required: 2 }, changed: true },
    { story: 'a check from before rules were kept', was: { ruleName: null, approvalsRequired: 1 }, rule: { name: 'payments', required: 2 }, changed: false },
  ])('$story: changed $changed', ({ was, rule, changed }) => {
    expect(ruleChanged(was, rule)).toBe(changed);
  });
});

describe('the same commit again: planKnownCommit', () => {
  const rule = { name: 'default', required: 1 };
  const card = { due: true, queued: false };
  it.each<{ story: string; same: Check; event: MergeRequestEvent; reopen?: boolean; rule?: { name: string; required: number }; card?: { due: boolean; queued: boolean }; step: string; resend: boolean }>([
    { story: 'nothing changed', same: check(1, A, 'pending'), event: event({ sha: A, updatedAt: t(5) }), step: 'nothing', resend: true },
    { story: 'a new title redraws the card', same: check(1, A, 'pending'), event: event({ sha: A, title: 'Renamed' }), step: 'update_card', resend: true },
    { story: 'another rule re-gates, and nothing is resent', same: check(1, A, 'approved'), event: event({ sha: A }), rule: { name: 'payments', required: 2 }, step: 'regate', resend: false },
    { story: 'reopened', same: check(1, A, 'closed'), event: event({ sha: A }), reopen: true, step: 'reopen', resend: true },
    { story: 'a draft made ready gets its card', same: check(1, A, 'pending', { slackTs: null, draft: true }), event: event({ sha: A }), step: 'post_card', resend: true },
    { story: 'a card already queued is not queued twice', same: check(1, A, 'pending', { slackTs: null }), event: event({ sha: A }), card: { due: true, queued: true }, step: 'nothing', resend: true },
    { story: 'a draft while drafts wait: no card yet', same: check(1, A, 'pending', { slackTs: null, draft: true }), event: event({ sha: A, draft: true }), card: { due: false, queued: false }, step: 'nothing', resend: true },
  ])('$story', ({ same, event, reopen = false, step, resend, ...given }) => {
    expect(planKnownCommit(same, event, { reopen, state: reopen ? 'pending' : same.state }, given.rule ?? rule, given.card ?? card)).toEqual({ step, resend });
  });
});

describe('what GitLab answers to a report', () => {
  const failure = (changes: Partial<ReportFailure>): ReportFailure => ({ message: 'GitLab said no', final: true, attempts: 0, ...changes });
  it.each([
    { story: 'a 409 makes the check stale', report: {}, failure: failure({ status: 409 }), plan: { record: { as: 'stale' }, audit: 'report_failed', updateCard: true, tellAuthor: true } },
    { story: 'a 403 for good: the report failed, the decision stands', report: {}, failure: failure({ status: 403 }), plan: { record: { as: 'failed' }, audit: 'report_failed', updateCard: true, tellAuthor: true } },
    { story: 'a first retry is said on the card', report: {}, failure: failure({ status: 500, final: false }), plan: { record: { as: 'sending' }, audit: 'report_retrying', updateCard: true, tellAuthor: false } },
    { story: 'later retries only change the record', report: {}, failure: failure({ status: 500, final: false, attempts: 3 }), plan: { record: { as: 'sending' }, audit: null, updateCard: false } },
    { story: 'a withdrawal refused after a push (409) changes nothing but the audit', report: { withdrawal: true }, failure: failure({ status: 409 }), plan: { record: null, audit: 'withdrawal_failed', updateCard: false, tellAuthor: false } },
    { story: 'a withdrawal refused otherwise: the card says the approval still stands in GitLab', report: { withdrawal: true }, failure: failure({ status: 403 }), plan: { record: { as: 'failed', error: 'The approval could not be withdrawn in GitLab: GitLab said no' }, audit: 'withdrawal_failed', updateCard: true } },
    { story: 'a withdrawal being retried: nothing yet', report: { withdrawal: true }, failure: failure({ final: false }), plan: { record: null, audit: null, updateCard: false } },
  ])('$story', ({ report, failure, plan }) => {
    expect(planReportFailure(report, failure)).toMatchObject(plan);
  });

  it.each<{ state: CheckState; report: Check['report']; again: boolean }>([
    { state: 'approved', report: 'failed', again: true },
    { state: 'rejected', report: 'failed', again: true },
    { state: 'approved', report: 'reported', again: false },
    { state: 'stale', report: 'failed', again: false },
    { state: 'pending', report: 'none', again: false },
  ])('a $state check whose report is $report is reported again: $again', ({ state, report, again }) => {
    expect(canReportAgain({ state, report })).toBe(again);
  });

  it('a card is updated when it was posted or its post is queued', () => {
    expect([hasCard({ slackTs: '1.2' }, false), hasCard({ slackTs: null }, true), hasCard({ slackTs: null }, false)]).toEqual([true, true, false]);
  });
});

describe('reminders and escalations that fell due', () => {
  const HOUR = 3_600_000;
  const reminders = (changes: Partial<Reminders> = {}): Reminders => ({
    remindAfterMs: HOUR,
    remindEveryMs: 2 * HOUR,
    escalateAfterMs: 4 * HOUR,
    escalateTo: { channel: 'C0ESC', slack: ['U0BOSS'], gitlab: [] },
    workingHours: null,
    ...changes,
  });
  const now = t(30).getTime();
  it.each([
    { story: 'a reminder for a pending check comes again after the interval', kind: 'remind' as const, state: 'pending' as const, r: reminders(), plan: { send: true, escalate: false, next: now + 2 * HOUR } },
    { story: 'a reminder without an interval comes once', kind: 'remind' as const, state: 'pending' as const, r: reminders({ remindEveryMs: null }), plan: { send: true, escalate: false, next: null } },
    { story: 'an escalation comes once', kind: 'escalate' as const, state: 'pending' as const, r: reminders(), plan: { send: true, escalate: true, next: null } },
    { story: 'a decided check gets nothing more', kind: 'remind' as const, state: 'approved' as const, r: reminders(), plan: { send: false } },
    { story: 'a superseded check gets nothing more', kind: 'escalate' as const, state: 'superseded' as const, r: reminders(), plan: { send: false } },
    { story: 'a rule that stopped asking for reminders gets nothing', kind: 'remind' as const, state: 'pending' as const, r: null, plan: { send: false } },
  ])('$story', ({ kind, state, r, plan }) => {
    expect(planNudge(kind, { state }, r, now)).toEqual(plan);
  });

  it('a check that is gone gets nothing', () => {
    expect(planNudge('remind', null, reminders(), now)).toEqual({ send: false });
  });
});

describe('when a card is due', () => {
  it.each([
    { draft: false, draftCards: 'wait' as const, due: true },
    { draft: true, draftCards: 'wait' as const, due: false },
    { draft: true, draftCards: 'post' as const, due: true },
  ])('draft $draft, DRAFT_CARDS=$draftCards: $due', ({ draft, draftCards, due }) => {
    expect(cardDueNow({ draft }, draftCards)).toBe(due);
  });
});
