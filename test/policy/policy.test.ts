import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ruleFor, type Policy, type Rule } from '../../src/domain/policy.js';
import { FakeGitLab } from '../../src/fakes/gitlab.js';
import { FakeSlack } from '../../src/fakes/slack.js';
import { parsePolicy, PolicyError } from '../../src/policy/load.js';
import { buttonsOf, cardText } from '../support/cards.js';
import { APPROVER, CHANNEL, SECOND_APPROVER, SECRETS, tempDir, testEnv, type Harness } from '../support/harness.js';
import { cardSays, mergeRequestInto, nthPrivateReply, PAYMENTS_CHANNEL, startWithPolicy, writePolicy } from '../support/policy.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Payments projects need two approvers from their team; the rest of acme needs one; anything else falls back to APPROVERS. */
const POLICY = `rules:
  - name: payments
    projects: acme/payments-*
    branches: [main, release/*]
    channel: ${PAYMENTS_CHANNEL}
    approvers:
      slack: [U0PAY1, U0PAY2]
    required: 2
  - name: acme
    projects: acme/**
    branches: main
    approvers:
      slack: [U0ANY]
`;

interface Row {
  story: string;
  project: string;
  branch: string;
  rule: string;
  channel: string;
  required: number;
  approvers: string[];
  /** Someone who may decide elsewhere, but not under this rule. */
  outsider: string;
}

const ROWS: Row[] = [
  { story: 'a payments service merging to main', project: 'acme/payments-api', branch: 'main', rule: 'payments', channel: PAYMENTS_CHANNEL, required: 2, approvers: ['U0PAY1', 'U0PAY2'], outsider: 'U0ANY' },
  { story: 'a payments service merging to a release branch', project: 'acme/payments-ledger', branch: 'release/2.4', rule: 'payments', channel: PAYMENTS_CHANNEL, required: 2, approvers: ['U0PAY1', 'U0PAY2'], outsider: APPROVER },
  { story: 'another acme project merging to main', project: 'acme/web', branch: 'main', rule: 'acme', channel: CHANNEL, required: 1, approvers: ['U0ANY'], outsider: 'U0PAY1' },
  { story: 'a feature branch that no rule names', project: 'acme/payments-api', branch: 'feature/retry', rule: 'default', channel: CHANNEL, required: 1, approvers: [APPROVER, SECOND_APPROVER], outsider: 'U0PAY1' },
];

describe('routing and approving by the policy file', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  /** Receives the row's merge request and waits for its card. */
  async function posted(row: Row): Promise<number> {
    const received = await h.receive(mergeRequestInto(row.project, row.branch));
    expect(received.status).toBe(202);
    await h.slack.waitFor('chat.postMessage');
    return received.body.id as number;
  }

  const reportQueued = (id: number) => h.bot.store.hasPendingDelivery(id, 'report');

  describe.each(ROWS)('$story ($project → $branch) falls under rule “$rule”', (row) => {
    it(`its card goes to ${row.channel} and says how many approvals it needs`, async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      const [card] = h.slack.calls('chat.postMessage');
      expect(card!.body.channel).toBe(row.channel);
      expect(await h.bot.store.getCheck(id)).toMatchObject({ approvalsRequired: row.required, ruleName: row.rule });
      if (row.required > 1) expect(cardText(card!)).toContain(`0 of ${row.required} approvals`);
      else expect(cardText(card!)).not.toMatch(/\d of \d approvals/);
    });

    it('someone who is not one of its approvers is refused privately, and the refusal names the rule', async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      await h.click(row.outsider, 'approve_check', id);
      const text = await nthPrivateReply(h, 1);
      expect(text).toContain('not one of the approvers');
      expect(text).toContain(`rule “${row.rule}”`);

      // Reject opens its modal at once (Slack's 3 seconds); the refusal then replaces the form.
      await h.click(row.outsider, 'reject_check', id);
      const [refused] = await h.slack.waitFor('views.update');
      expect(JSON.stringify(refused!.body.view)).toContain(`rule “${row.rule}”`);
      expect(await h.bot.store.decisionsOf(id)).toEqual([]);
      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
      expect(h.gitlab.responses).toEqual([]);
    });

    it(`its approvers decide: ${row.required} distinct approval(s) report passed to GitLab exactly once`, async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      const deciders = row.approvers.slice(0, row.required);
      for (const [i, approver] of deciders.slice(0, -1).entries()) {
        await h.click(approver, 'approve_check', id);
        expect(await nthPrivateReply(h, i + 1)).toBe(`Your approval is counted: ${i + 1} of ${row.required}.`);
        expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none' });
        expect(await reportQueued(id)).toBe(false);
      }
      expect(h.gitlab.responses).toEqual([]);

      await h.click(deciders.at(-1)!, 'approve_check', id);
      const [report] = await h.gitlab.waitForResponses(1);
      expect(report!.body).toMatchObject({ status: 'passed', external_status_check_id: 7 });
      const [done] = await h.slack.waitFor('chat.update', 1, cardSays('Reported to GitLab'));
      expect(done!.body.channel).toBe(row.channel);
      expect(h.gitlab.responses).toHaveLength(1);
      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: deciders.at(-1) });
      expect((await h.bot.store.decisionsOf(id)).map((d) => d.actorId)).toEqual(deciders);
    });

    it('one of its approvers rejects: failed is reported to GitLab', async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      await h.click(row.approvers[0]!, 'reject_check', id);
      await h.slack.waitFor('views.open');
      await h.submitReject(row.approvers[0]!, id, 'Not in this release');
      const [report] = await h.gitlab.waitForResponses(1);
      expect(report!.body).toMatchObject({ status: 'failed' });
      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', decidedBy: row.approvers[0] });
    });
  });

  const QUORUM_ROWS = ROWS.filter((r) => r.required > 1);

  describe.each(QUORUM_ROWS)('a quorum of $required: $story', (row) => {
    it('the card shows “1 of 2 approvals” and who approved after the first approval, and keeps its buttons', async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      await h.click(row.approvers[0]!, 'approve_check', id);
      const [update] = await h.slack.waitFor('chat.update', 1, cardSays(`1 of ${row.required} approvals`));
      expect(update!.body.channel).toBe(row.channel);
      expect(cardText(update!)).toContain(`approved by <@${row.approvers[0]}>`);
      expect(buttonsOf(update!).map((b) => b.value)).toEqual([String(id), String(id)]);
    });

    it('the same approver twice counts once: the second click is answered “already”, nothing reaches GitLab', async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      await h.click(row.approvers[0]!, 'approve_check', id);
      expect(await nthPrivateReply(h, 1)).toContain(`counted: 1 of ${row.required}`);
      await h.click(row.approvers[0]!, 'approve_check', id);
      const again = await nthPrivateReply(h, 2);
      expect(again).toContain('already');
      expect(again).toContain(`${row.required} approvals from different people`);

      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', report: 'none', approvals: [expect.objectContaining({ by: row.approvers[0] })] });
      expect((await h.bot.store.getCheck(id))?.approvals).toHaveLength(1);
      expect(await reportQueued(id)).toBe(false);
      expect(h.gitlab.responses).toEqual([]);

      // The second approver still completes the quorum.
      await h.click(row.approvers[1]!, 'approve_check', id);
      await h.gitlab.waitForResponses(1);
      await h.slack.waitFor('chat.update', 1, cardSays('Reported to GitLab'));
      expect(h.gitlab.responses.map((r) => r.body.status)).toEqual(['passed']);
    });

    it('a rejection after one approval rejects: failed is reported and the approval does not count', async () => {
      h = await startWithPolicy(POLICY);
      const id = await posted(row);
      await h.click(row.approvers[0]!, 'approve_check', id);
      await nthPrivateReply(h, 1);
      await h.click(row.approvers[1]!, 'reject_check', id);
      await h.slack.waitFor('views.open');
      const submitted = await h.submitReject(row.approvers[1]!, id, 'Ledger totals drift on retries');
      expect(submitted.status).toBe(200);

      const [report] = await h.gitlab.waitForResponses(1);
      expect(report!.body).toMatchObject({ status: 'failed' });
      const [done] = await h.slack.waitFor('chat.update', 1, cardSays('Reported to GitLab'));
      expect(cardText(done!)).toContain(`Rejected* by <@${row.approvers[1]}>`);
      expect(h.gitlab.responses).toHaveLength(1);
      expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'rejected', reason: 'Ledger totals drift on retries' });
      expect((await h.bot.store.decisionsOf(id)).map((d) => d.outcome)).toEqual(['approve', 'reject']);
    });
  });

  it('a merge request retargeted to main with the same commit falls under the payments rule: one approval does not pass it', async () => {
    h = await startWithPolicy(POLICY);
    await h.receive(mergeRequestInto('acme/payments-api', 'feature/base'));
    await h.slack.waitFor('chat.postMessage');
    // The author changes the target branch; GitLab calls the check again for the same commit.
    expect((await h.receive(mergeRequestInto('acme/payments-api', 'main'))).status).toBe(202);

    const [waiting] = await h.bot.store.pendingChecks(10);
    expect(waiting).toMatchObject({ targetBranch: 'main', approvalsRequired: 2, ruleName: 'payments' });
    await h.click('U0PAY1', 'approve_check', waiting!.id);
    expect(await nthPrivateReply(h, 1)).toBe('Your approval is counted: 1 of 2.');
    expect(await h.bot.store.getCheck(waiting!.id)).toMatchObject({ state: 'pending', report: 'none' });
    expect(h.gitlab.responses).toEqual([]);
  });
});

// --- the policy file on its own ------------------------------------------------------------

const FALLBACK: Rule = {
  name: 'default',
  projects: ['**'],
  branches: ['**'],
  channel: CHANNEL,
  approvers: { slack: [APPROVER], emails: [], gitlab: [], web: [] },
  required: 1,
  allowSelfApproval: false,
  approveWithComment: false,
};

describe('which rule governs a merge request', () => {
  const policy: Policy = parsePolicy(POLICY, 'policy.yaml', FALLBACK);

  it.each([
    { project: 'acme/payments-api', branch: 'main', rule: 'payments' },
    { project: 'acme/payments-ledger', branch: 'release/2.4', rule: 'payments' },
    { project: 'acme/payments-api', branch: 'release/2.4/hotfix', rule: 'default' }, // `*` stops at a slash
    { project: 'acme/payments-api', branch: 'feature/retry', rule: 'default' },
    { project: 'acme/web', branch: 'main', rule: 'acme' },
    { project: 'acme/platform/infra', branch: 'main', rule: 'acme' },
    { project: 'acme/payments', branch: 'main', rule: 'acme' }, // `payments-*` needs the dash
    { project: 'acme/web', branch: 'release/2.4', rule: 'default' },
    { project: 'globex/payments-api', branch: 'main', rule: 'default' },
  ])('$project → $branch: rule “$rule”', ({ project, branch, rule }) => {
    expect(ruleFor(policy, project, branch).name).toBe(rule);
  });

  it('the first rule that matches wins, even when a later one matches too', () => {
    const reversed: Policy = { ...policy, rules: [...policy.rules].reverse() };
    expect(ruleFor(policy, 'acme/payments-api', 'main').name).toBe('payments');
    expect(ruleFor(reversed, 'acme/payments-api', 'main').name).toBe('acme');
  });

  it('a rule takes what it does not say from the fallback: channel, and approvers when it names none', () => {
    const [payments, acme] = policy.rules;
    expect(payments).toMatchObject({ channel: PAYMENTS_CHANNEL, required: 2, approvers: { slack: ['U0PAY1', 'U0PAY2'], emails: [], gitlab: [] } });
    expect(acme).toMatchObject({ channel: CHANNEL, required: 1, allowSelfApproval: false, approveWithComment: false });
    const bare = parsePolicy('rules:\n  - projects: acme/*\n', 'policy.yaml', FALLBACK).rules[0];
    expect(bare).toMatchObject({ name: 'rule 1', branches: ['**'], channel: CHANNEL, approvers: FALLBACK.approvers });
  });
});

describe('an invalid policy file is refused with the line to fix', () => {
  const problemsOf = (text: string): string[] => {
    try {
      parsePolicy(text, '/config/policy.yaml', FALLBACK);
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).message).toContain('/config/policy.yaml');
      return (error as PolicyError).problems;
    }
    throw new Error('the policy was accepted');
  };

  it.each([
    {
      what: 'an unknown key (a misspelt “approvers”)',
      text: 'rules:\n  - name: payments\n    projects: acme/payments-*\n    branches: main\n    approver:\n      slack: [U0PAY1]\n',
      line: 5,
      says: /approver/,
    },
    { what: 'a channel given by name', text: 'rules:\n  - name: payments\n    projects: acme/*\n    channel: "#payments"\n', line: 4, says: /channel.*Slack channel ID/ },
    { what: 'required: 0', text: 'rules:\n  - name: payments\n    projects: acme/*\n    required: 0\n', line: 4, says: /required.*1 or more/ },
    { what: 'a YAML syntax error', text: 'rules:\n  - name: payments\n    projects: [acme/*\n    required: 1\n', line: 4, says: /\]/ },
    { what: 'approvers as a plain list', text: 'rules:\n  - name: payments\n    projects: acme/*\n    approvers: [U0PAY1, U0PAY2]\n', line: 4, says: /approvers/ },
    { what: 'a Slack user given by name', text: 'rules:\n  - projects: acme/*\n    approvers:\n      slack: [U0PAY1, "@dana"]\n', line: 4, says: /slack.*Slack user ID/ },
    { what: 'no rules at all', text: 'rules: []\n', line: 1, says: /at least one rule/ },
  ])('$what: line $line', ({ text, line, says }) => {
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^line ${line}: `));
    expect(problems[0]).toMatch(says);
  });

  it('every problem is listed, each with its own line', () => {
    const problems = problemsOf('rules:\n  - projects: acme/*\n    required: 0\n  - projects: acme/web\n    channel: payments\n');
    expect(problems).toEqual([expect.stringMatching(/^line 3: rules\.0\.required/), expect.stringMatching(/^line 5: rules\.1\.channel/)]);
  });
});

describe('the bot does not start with an invalid POLICY_FILE', () => {
  it('exits with 78 and says which file and which line, without a stack trace', async () => {
    const dir = tempDir();
    const slack = await FakeSlack.start(SECRETS.slackToken, [CHANNEL]);
    const gitlab = await FakeGitLab.start(SECRETS.gitlabToken);
    try {
      const file = writePolicy('rules:\n  - name: payments\n    projects: acme/payments-*\n    required: 0\n', dir);
      const env = testEnv(slack, gitlab, dir, { POLICY_FILE: file, ENV_FILE: path.join(dir, 'no.env') });
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

      expect(code, stderr).toBe(78);
      expect(stderr).toContain(file);
      expect(stderr).toContain('line 4: rules.0.required: must be 1 or more');
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(stdout).not.toContain('is serving');
      // Nothing was opened: the database is not even created.
      expect(fs.existsSync(path.join(dir, 'approvals.db'))).toBe(false);
      expect(slack.requests.calls).toEqual([]);
    } finally {
      await Promise.all([slack.close(), gitlab.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
