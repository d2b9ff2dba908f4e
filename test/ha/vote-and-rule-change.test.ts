import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { mergeRequestInto, startWithPolicy } from '../support/policy.js';
import { eventually } from '../support/eventually.js';
import { dropPostgres, freshPostgres, postgresReady } from '../support/postgres.js';

const POLICY = `rules:
  - name: release
    projects: acme/*
    branches: release
    approvers: { slack: [U0PAY1, U0PAY2] }
    required: 2
  - name: main
    projects: acme/*
    branches: main
    approvers: { slack: [U0PAY1, U0PAY2] }
    required: 1
`;

/**
 * On PostgreSQL a vote and a GitLab call about the same merge request run in transactions of
 * their own, at the same moment: they must still end as if one came after the other.
 */
describe.runIf(postgresReady)('a vote and a rule change at the same moment, on PostgreSQL', () => {
  let h: Harness;
  let url: string;
  afterEach(async () => {
    await h?.stop();
    await dropPostgres(url);
  });

  it('an approval under the old rule does not survive a change to a rule that needs more', async () => {
    url = await freshPostgres();
    h = await startWithPolicy(POLICY, { DATABASE_URL: url });
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'main'))).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    expect(await h.bot.store.getCheck(id)).toMatchObject({ ruleName: 'main', approvalsRequired: 1, state: 'pending' });

    // Something else holds the check's row for a moment (any other write to it would do).
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    const waiting = async () =>
      Number((await watcher.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'gitlab-approval-bot'`)).rows[0].n);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM status_check WHERE id = $1 FOR NO KEY UPDATE', [id]);
      // 1. An approver clicks: the vote waits for the row inside its transaction.
      await h.click('U0PAY1', 'approve_check', id);
      await eventually('the vote waits for the row', async () => ((await waiting()) >= 1 ? true : undefined), 20_000);
      // 2. GitLab calls: the merge request now targets release (rule "release", 2 approvals).
      const retarget = h.receive(mergeRequestInto('acme/payments-api', 'release'));
      await eventually('the call waits for the row too', async () => ((await waiting()) >= 2 ? true : undefined), 20_000);
      await holder.query('ROLLBACK');
      expect((await retarget).status).toBeLessThan(300);
    } finally {
      await holder.end();
      await watcher.end();
    }
    const events = async () => (await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id })).map((e) => e.event);
    await eventually('the vote settled', async () => ((await events()).some((e) => ['approved', 'approval_counted', 'refused'].includes(e)) ? true : undefined), 20_000);
    await eventually('both done', async () => ((await h.bot.store.getCheck(id))?.ruleName === 'release' ? true : undefined), 20_000);
    const check = (await h.bot.store.getCheck(id))!;
    // Either order run one after the other leaves the check waiting under "release":
    // vote first -> the approval is withdrawn (report failed) and it waits again; call first -> 1 of 2.
    expect(check.state).toBe('pending');
    expect(check.approvals).toEqual([]);
    // GitLab does not end up showing a pass under a rule that needs two approvals.
    await eventually('GitLab shows no pass', async () => (h.gitlab.statusOf(42, 128, 7, check.sha) !== 'passed' ? true : undefined), 20_000);
  });
});
