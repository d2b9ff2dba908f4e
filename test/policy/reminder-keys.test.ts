import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../../src/policy/load.js';
import { FALLBACK_RULE } from '../support/policy.js';

const fallback = FALLBACK_RULE;

const problemsOf = (text: string): string[] => {
  try {
    parsePolicy(text, 'policy.yaml', fallback);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).problems;
  }
  throw new Error('the policy was accepted');
};

const FULL = `rules:
  - name: payments
    approvers: { slack: [U0PAY1] }
    remind_after: 30m
    remind_every: 2h
    escalate_after: 4h
    escalate_to: { channel: C0ONCALL, slack: [U0LEAD, S0SRE], gitlab: [lead] }
    working_hours: { days: [Mon, Tue, Wed, Thu, Fri], from: "09:00", to: "18:00", timezone: Europe/Berlin }
    freezes:
      - { from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z", reason: "Year-end freeze" }
      - { days: [Fri], from: "16:00", to: "23:59", timezone: Europe/Berlin, reason: "No Friday releases" }
    break_glass: { slack: [U0CTO], gitlab: [cto] }
`;

describe('reminders, escalation, working hours, freezes and break glass in the policy file', () => {
  it('reads every new key', () => {
    const [rule] = parsePolicy(FULL, 'policy.yaml', fallback).rules;
    expect(rule).toMatchObject({
      reminders: {
        remindAfterMs: 30 * 60_000,
        remindEveryMs: 2 * 3_600_000,
        escalateAfterMs: 4 * 3_600_000,
        escalateTo: { channel: 'C0ONCALL', slack: ['U0LEAD', 'S0SRE'], gitlab: ['lead'] },
        workingHours: { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], fromMinute: 540, toMinute: 1080, timezone: 'Europe/Berlin' },
      },
      freezes: [
        { kind: 'absolute', from: Date.parse('2026-12-20T00:00:00Z'), to: Date.parse('2027-01-04T00:00:00Z'), reason: 'Year-end freeze' },
        { kind: 'weekly', days: ['Fri'], fromMinute: 960, toMinute: 1439, timezone: 'Europe/Berlin', reason: 'No Friday releases' },
      ],
      breakGlass: { slack: ['U0CTO'], gitlab: ['cto'] },
    });
  });

  it('a rule without them has none', () => {
    const [rule] = parsePolicy('rules:\n  - name: plain\n', 'policy.yaml', fallback).rules;
    expect(rule).toMatchObject({ reminders: null, freezes: [], breakGlass: null });
  });

  it.each([
    { what: 'a bad duration', text: 'rules:\n  - name: a\n    remind_after: 30 minutes\n', says: /^line 3: rules\.0\.remind_after: must be a duration such as 90s, 30m, 4h or 2d/ },
    { what: 'a number without a unit', text: 'rules:\n  - name: a\n    remind_after: 30m\n    remind_every: 120\n', says: /^line 4: rules\.0\.remind_every: must be a duration/ },
    {
      what: 'an unknown day',
      text: 'rules:\n  - name: a\n    remind_after: 1h\n    working_hours:\n      days: [Mon, Tuesday]\n      from: "09:00"\n      to: "18:00"\n      timezone: UTC\n',
      says: /^line 5: rules\.0\.working_hours\.days\.1: must be a day: Mon, Tue/,
    },
    {
      what: 'an unknown time zone',
      text: 'rules:\n  - name: a\n    remind_after: 1h\n    working_hours:\n      days: [Mon]\n      from: "09:00"\n      to: "18:00"\n      timezone: Europe/Atlantis\n',
      says: /^line 8: rules\.0\.working_hours\.timezone: is not a time zone this system knows/,
    },
    {
      what: 'working hours that end before they start',
      text: 'rules:\n  - name: a\n    remind_after: 1h\n    working_hours:\n      days: [Mon]\n      from: "18:00"\n      to: "09:00"\n      timezone: UTC\n',
      says: /^line 7: rules\.0\.working_hours\.to: must be after from \(18:00\)/,
    },
    {
      what: 'a freeze that ends before it starts',
      text: 'rules:\n  - name: a\n    freezes:\n      - from: "2027-01-04T00:00:00Z"\n        to: "2026-12-20T00:00:00Z"\n        reason: Year end\n',
      says: /^line 5: rules\.0\.freezes\.0\.to: must be after from/,
    },
    {
      what: 'a weekly freeze without a time zone',
      text: 'rules:\n  - name: a\n    freezes:\n      - days: [Fri]\n        from: "16:00"\n        to: "23:59"\n        reason: No Friday releases\n',
      says: /^line 4: rules\.0\.freezes\.0\.days: a weekly freeze needs a timezone/,
    },
    {
      what: 'a freeze without a reason',
      text: 'rules:\n  - name: a\n    freezes:\n      - { from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z" }\n',
      says: /^line 4: rules\.0\.freezes\.0\.reason: is required/,
    },
    { what: 'escalation with nobody to tell', text: 'rules:\n  - name: a\n    escalate_after: 4h\n', says: /^line 3: rules\.0\.escalate_after: needs escalate_to/ },
    { what: 'a channel name in escalate_to', text: 'rules:\n  - name: a\n    escalate_after: 4h\n    escalate_to: { channel: "#oncall" }\n', says: /^line 4: rules\.0\.escalate_to\.channel: must be a Slack channel ID/ },
    { what: 'an e-mail in break_glass', text: 'rules:\n  - name: a\n    break_glass:\n      slack: [cto@example.com]\n', says: /^line 4: rules\.0\.break_glass\.slack\.0: must be a Slack user ID/ },
  ])('names the line of $what', ({ text, says }) => {
    const problems = problemsOf(text);
    expect(problems).toEqual([expect.stringMatching(says)]);
  });
});
