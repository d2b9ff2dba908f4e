import { describe, expect, it } from 'vitest';
import { frozenBy, type Freeze } from '../../src/domain/freeze.js';

const t = (iso: string) => Date.parse(iso);
const YEAR_END: Freeze = { kind: 'absolute', from: t('2026-12-20T00:00:00Z'), to: t('2027-01-04T00:00:00Z'), reason: 'Year-end freeze' };
const FRIDAYS: Freeze = { kind: 'weekly', days: ['Fri'], fromMinute: 16 * 60, toMinute: 23 * 60 + 59, timezone: 'Europe/Berlin', reason: 'No Friday releases' };

describe('is a rule frozen now', () => {
  it.each([
    { at: '2026-12-19T23:59:59Z', reason: null },
    { at: '2026-12-20T00:00:00Z', reason: 'Year-end freeze' },
    { at: '2027-01-03T23:59:59Z', reason: 'Year-end freeze' },
    { at: '2027-01-04T00:00:00Z', reason: null },
    { at: '2026-12-11T15:00:00Z', reason: 'No Friday releases' }, // 16:00 in Berlin
    { at: '2026-12-11T14:59:00Z', reason: null },
    { at: '2026-12-11T22:58:00Z', reason: 'No Friday releases' },
    { at: '2026-12-11T23:00:00Z', reason: null }, // Saturday in Berlin
    { at: '2026-12-10T16:00:00Z', reason: null }, // Thursday
  ])('at $at: $reason', ({ at, reason }) => {
    expect(frozenBy([YEAR_END, FRIDAYS], t(at))?.reason ?? null).toBe(reason);
  });
  it('no freezes, never frozen', () => {
    expect(frozenBy(undefined, 0)).toBeNull();
    expect(frozenBy([], 0)).toBeNull();
  });
});
