import { afterEach, describe, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { mergeRequestInto, startWithPolicy } from '../support/policy.js';

const POLICY = `rules:
  - name: payments
    projects: acme/payments-*
    approvers: { slack: [U0PAY1, U0PAY2, U0PAY3] }
    required: 3
`;

describe('approvals counted towards a quorum', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('two approvals clicked at once are counted one after the other: the trail says 1 of 3, then 2 of 3', async () => {
    h = await startWithPolicy(POLICY);
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'main'))).body.id as number;
    await h.slack.waitFor('chat.postMessage');

    await Promise.all([h.click('U0PAY1', 'approve_check', id), h.click('U0PAY2', 'approve_check', id)]);
    await h.slack.waitFor('response_url', 2);

    const trail = await h.bot.gate.history({ from: new Date(0), to: new Date(Date.now() + 60_000), checkId: id });
    const counted = trail.filter((e) => e.event === 'approval_counted').map((e) => e.detail);
    expect(counted.sort()).toEqual(['1 of 3', '2 of 3']);
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'pending', approvalsRequired: 3, approvals: [expect.anything(), expect.anything()] });
    expect(h.gitlab.responses).toEqual([]);
  });
});
