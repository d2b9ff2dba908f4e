import { afterEach, describe, expect, it } from 'vitest';
import { cardText } from '../support/cards.js';
import { APPROVER, startHarness, type Harness } from '../support/harness.js';
import { mergeRequestInto, PAYMENTS_CHANNEL, startWithPolicy } from '../support/policy.js';

describe('the card names its rule, what it still needs, and once decided its history', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('shows the rule and approvals still needed, then a link to the check’s history page', async () => {
    h = await startHarness();
    const id = (await h.receive()).body.id as number;
    const [card] = await h.slack.waitFor('chat.postMessage');
    expect(cardText(card!)).toContain('*Rule*\\ndefault: 0 of 1 approval, 1 more needed');
    expect(cardText(card!)).not.toContain('History of this check');

    await h.click(APPROVER, 'approve_check', id);
    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('Reported to GitLab'));
    expect(cardText(update!)).toContain(`<https://approvals.example.com/checks/${id}|History of this check>`);
    // The link goes where the web list serves the history.
    const page = await fetch(`${h.bot.url}/checks/${id}`);
    expect(page.status).toBe(401);
  });

  it('counts down a quorum: 1 of 2 approvals, 1 more needed', async () => {
    h = await startWithPolicy(`rules:\n  - name: payments\n    projects: acme/payments-*\n    branches: main\n    channel: ${PAYMENTS_CHANNEL}\n    approvers: { slack: [U0PAY1, U0PAY2] }\n    required: 2\n    allow_self_approval: true\n`);
    const id = (await h.receive(mergeRequestInto('acme/payments-api', 'main'))).body.id as number;
    const [card] = await h.slack.waitFor('chat.postMessage');
    expect(cardText(card!)).toContain('*Rule*\\npayments: 0 of 2 approvals, 2 more needed');
    await h.click('U0PAY1', 'approve_check', id);
    const [update] = await h.slack.waitFor('chat.update', 1, (c) => cardText(c).includes('1 of 2 approvals, 1 more needed'));
    expect(update).toBeDefined();
  });
});
