import { describe, expect, it } from 'vitest';
import { addWorkingTime, age, firstDue, inWindow, nextReminder, parseDuration, parseTimeOfDay, type Reminders, type WeeklyWindow } from '../../src/domain/schedule.js';

const t = (iso: string) => Date.parse(iso);
const BERLIN_OFFICE: WeeklyWindow = { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], fromMinute: 9 * 60, toMinute: 18 * 60, timezone: 'Europe/Berlin' };

describe('durations and times of day', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['4h', 14_400_000],
    ['2d', 172_800_000],
    ['1', null],
    ['0m', null],
    ['1.5h', null],
    ['4 hours', null],
    ['-3m', null],
  ])('%s is %s ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['09:00', 540],
    ['23:59', 1439],
    ['24:00', 1440],
    ['9:00', null],
    ['24:01', null],
    ['12:60', null],
  ])('%s is minute %s', (text, minute) => {
    expect(parseTimeOfDay(text)).toBe(minute);
  });
});

describe('working time', () => {
  it.each([
    { story: 'inside hours, plain addition', start: '2026-12-07T09:00:00Z', ms: 30 * 60_000, due: '2026-12-07T09:30:00Z' },
    { story: 'before opening: counts from 09:00 Berlin (08:00 UTC in winter)', start: '2026-12-07T05:00:00Z', ms: 30 * 60_000, due: '2026-12-07T08:30:00Z' },
    { story: 'crosses the evening: the rest runs the next morning', start: '2026-12-07T16:30:00Z', ms: 60 * 60_000, due: '2026-12-08T08:30:00Z' },
    { story: 'Friday evening waits for Monday', start: '2026-12-11T16:45:00Z', ms: 30 * 60_000, due: '2026-12-14T08:15:00Z' },
    { story: 'Saturday counts from Monday', start: '2026-12-12T12:00:00Z', ms: 4 * 3_600_000, due: '2026-12-14T12:00:00Z' },
    { story: 'summer time: 09:00 Berlin is 07:00 UTC', start: '2026-07-06T06:00:00Z', ms: 60_000, due: '2026-07-06T07:01:00Z' },
    { story: 'two working days span a weekend', start: '2026-12-11T08:00:00Z', ms: 2 * 9 * 3_600_000, due: '2026-12-14T17:00:00Z' },
  ])('$story', ({ start, ms, due }) => {
    expect(new Date(addWorkingTime(t(start), ms, BERLIN_OFFICE)).toISOString()).toBe(new Date(t(due)).toISOString());
  });

  it('without working hours, the clock runs all the time', () => {
    expect(addWorkingTime(t('2026-12-12T12:00:00Z'), 60_000, null)).toBe(t('2026-12-12T12:01:00Z'));
  });

  it.each([
    ['2026-12-07T08:00:00Z', true],
    ['2026-12-07T07:59:59Z', false],
    ['2026-12-07T17:00:00Z', false],
    ['2026-12-12T10:00:00Z', false],
  ])('%s is in working hours: %s', (at, inside) => {
    expect(inWindow(t(at), BERLIN_OFFICE)).toBe(inside);
  });
});

describe('when nudges fall due', () => {
  const rule: Reminders = {
    remindAfterMs: 30 * 60_000,
    remindEveryMs: 2 * 3_600_000,
    escalateAfterMs: 4 * 3_600_000,
    escalateTo: { channel: 'C0ONCALL', slack: ['U0LEAD'], gitlab: [] },
    workingHours: null,
  };
  it('the first reminder, the next one, and the escalation', () => {
    const since = t('2026-12-07T09:00:00Z');
    expect(firstDue('remind', since, rule)).toBe(t('2026-12-07T09:30:00Z'));
    expect(nextReminder(t('2026-12-07T09:30:00Z'), rule)).toBe(t('2026-12-07T11:30:00Z'));
    expect(firstDue('escalate', since, rule)).toBe(t('2026-12-07T13:00:00Z'));
  });
  it('none asked for, none due', () => {
    const none: Reminders = { remindAfterMs: null, remindEveryMs: null, escalateAfterMs: 60_000, escalateTo: null, workingHours: null };
    expect(firstDue('remind', 0, none)).toBeNull();
    expect(firstDue('escalate', 0, none)).toBeNull();
    expect(nextReminder(0, none)).toBeNull();
  });
  it.each([
    [5_000, '5 seconds'],
    [60_000, '1 minute'],
    [3 * 3_600_000, '3 hours'],
    [3 * 86_400_000, '3 days'],
  ])('%s ms reads "%s"', (ms, words) => {
    expect(age(ms)).toBe(words);
  });
});
