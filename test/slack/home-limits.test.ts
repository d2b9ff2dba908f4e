import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/domain/check.js';
import { authorNotice } from '../../src/slack/author-notice.js';
import { renderHome } from '../../src/slack/home.js';
import { fit } from '../../src/slack/mrkdwn.js';
import { sampleEvent } from '../support/samples.js';

/** The worst GitLab and people can send: titles of escapes, long URLs, names and reasons. */
function worst(id: number, changes: Partial<Check> = {}): Check {
  return {
    ...sampleEvent,
    id,
    title: '<&>'.repeat(700),
    url: `https://gitlab.example.com/${'deep/'.repeat(150)}-/merge_requests/${id}`,
    projectPath: `acme/${'p'.repeat(200)}`,
    state: 'pending',
    receivedAt: new Date('2026-11-20T09:30:02Z'),
    previousSha: null,
    decidedBy: 'U0APPROVER',
    decidedByName: '&'.repeat(300),
    decidedVia: 'web',
    decidedAt: new Date('2026-11-20T10:00:00Z'),
    reason: '<&>\n'.repeat(900),
    report: 'failed',
    reportError: '&'.repeat(3000),
    reportedAt: null,
    slackChannel: null,
    slackTs: null,
    cardError: null,
    approvalsRequired: 3,
    ruleName: '&'.repeat(500),
    approvals: [],
    ...changes,
  };
}

type Block = { type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<{ text?: string | { text: string }; value?: string }> };

/** Every Block Kit limit the Home tab and messages must keep (Slack refuses the whole view otherwise). */
function expectWithinLimits(blocks: readonly Block[], maxBlocks: number): void {
  expect(blocks.length).toBeLessThanOrEqual(maxBlocks);
  for (const block of blocks) {
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    if (block.type === 'header') expect(block.text!.text.length).toBeLessThanOrEqual(150);
    if (block.type === 'context') {
      expect(block.elements!.length).toBeLessThanOrEqual(10);
      for (const e of block.elements!) expect(String((e as { text: string }).text).length).toBeLessThanOrEqual(3000);
    }
    if (block.type === 'actions') {
      for (const e of block.elements!) {
        expect(((e.text as { text: string }).text).length).toBeLessThanOrEqual(75);
        expect(String(e.value).length).toBeLessThanOrEqual(2000);
      }
    }
    // No escape cut in two: every `&` starts a whole entity.
    expect(JSON.stringify(block)).not.toMatch(/&(?!amp;|lt;|gt;)/);
  }
}

describe('Block Kit limits, whatever GitLab and people send', () => {
  it('the Home tab stays within 100 blocks and every section within 3000 characters', () => {
    const many = Array.from({ length: 150 }, (_, i) => worst(i + 1));
    const view = renderHome({
      waiting: many,
      recent: many.slice(0, 30).map((check) => ({ check, outcome: 'reject' as const, decidedAt: new Date('2026-11-20T10:00:00Z') })),
      mine: many.slice(0, 30),
      now: new Date('2026-11-21T10:00:00Z'),
      webListUrl: 'https://approvals.example.com/',
      historyUrl: (id) => `https://approvals.example.com/checks/${id}`,
      freezeOf: () => '&'.repeat(1000),
      notice: '<&>'.repeat(2000),
    });
    expectWithinLimits(view.blocks as Block[], 100);
    expect(JSON.stringify(view.blocks)).toContain('…and 110 more');
    // A freeze on the rule shows beside each check (the hook freeze windows plug into).
    expect(JSON.stringify(view.blocks)).toContain(':snowflake: &amp;');
  });

  it('the author’s message stays within a section, the reason escaped and shortened at a whole escape', () => {
    for (const about of ['approved', 'rejected', 'regated', 'report_refused'] as const) {
      const { text, blocks } = authorNotice(worst(1, { state: about === 'approved' ? 'approved' : 'rejected' }), about, 'https://approvals.example.com/checks/1');
      expectWithinLimits(blocks as Block[], 50);
      expect(text.length).toBeLessThanOrEqual(300);
    }
  });

  it('fit never leaves half an escape', () => {
    for (let max = 2; max < 40; max += 1) {
      const out = fit('a&<b>'.repeat(20), max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
  });
});
