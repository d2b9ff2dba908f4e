import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/domain/check.js';
import { planRepairs, type MergeRequestView } from '../../src/domain/reconcile.js';
import { sampleCheck, sampleEvent } from '../support/samples.js';

const HEAD = 'b'.repeat(40);
const OLD = 'a'.repeat(40);
const OUR_URL = 'https://approvals.example.com/status_check';

function check(changes: Partial<Check>): Check {
  return sampleCheck({ id: 1, receivedAt: new Date(0), slackChannel: null, slackTs: null, statusCheckId: 7, sha: HEAD, ...changes });
}

const view = (changes: Partial<MergeRequestView> = {}): MergeRequestView => ({
  state: 'opened',
  sha: HEAD,
  statusChecks: [{ id: 7, name: 'Change approval', externalUrl: OUR_URL, status: 'pending' }],
  ...changes,
});

describe('what a sweep repairs', () => {
  it.each([
    { story: 'a HEAD the bot never heard of gets its check', v: view(), known: [], repairs: [{ kind: 'created', statusCheckId: 7, statusCheckName: 'Change approval' }] },
    { story: 'a HEAD pushed past a waiting check gets its check', v: view(), known: [check({ sha: OLD })], repairs: [{ kind: 'created', statusCheckId: 7, statusCheckName: 'Change approval' }] },
    { story: 'a waiting check GitLab knows: nothing to do', v: view(), known: [check({})], repairs: [] },
    {
      story: 'an approval GitLab refused is reported again',
      v: view(),
      known: [check({ id: 3, state: 'approved', report: 'failed' })],
      repairs: [{ kind: 'rereported', checkId: 3 }],
    },
    {
      story: 'an approval GitLab shows as passed already: nothing to do',
      v: view({ statusChecks: [{ id: 7, name: 'Change approval', externalUrl: OUR_URL, status: 'passed' }] }),
      known: [check({ id: 3, state: 'approved', report: 'failed' })],
      repairs: [],
    },
    { story: 'a stale decision is not sent again', v: view(), known: [check({ state: 'stale', report: 'failed' })], repairs: [] },
    {
      story: 'a merged merge request retires its waiting check',
      v: view({ state: 'merged' }),
      known: [check({ id: 4 }), check({ id: 5, state: 'approved' })],
      repairs: [{ kind: 'retired', statusCheckId: 7, statusCheckName: sampleEvent.statusCheckName }],
    },
    {
      story: 'someone else’s status check is left alone',
      v: view({ statusChecks: [{ id: 99, name: 'Security scan', externalUrl: 'https://scanner.example.com/hook', status: 'pending' }] }),
      known: [],
      repairs: [],
    },
    {
      story: 'a check the bot has seen in this project is its own, whatever its URL',
      v: view({ statusChecks: [{ id: 8, name: 'Old URL', externalUrl: 'http://10.0.0.5/status_check', status: 'pending' }] }),
      known: [],
      seen: [8],
      repairs: [{ kind: 'created', statusCheckId: 8, statusCheckName: 'Old URL' }],
    },
  ] as Array<{ story: string; v: MergeRequestView; known: Check[]; seen?: number[]; repairs: unknown[] }>)('$story', ({ v, known, seen = [], repairs }) => {
    expect(planRepairs(v, known, new Set(seen), OUR_URL)).toEqual(repairs);
  });
});
