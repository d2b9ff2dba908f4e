/**
 * When reminders and escalations fall due. Durations count in working time when a rule sets
 * working hours, so a check that arrives on Friday evening is not escalated on Saturday.
 * Pure: instants in, instants out; time zones through Intl.
 */

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A weekly window in a time zone: `from` inclusive, `to` exclusive, minutes since local midnight. */
export interface WeeklyWindow {
  days: Weekday[];
  fromMinute: number;
  toMinute: number;
  timezone: string;
}

/** Reminders and escalation of one rule; durations in milliseconds. */
export interface Reminders {
  remindAfterMs: number | null;
  remindEveryMs: number | null;
  escalateAfterMs: number | null;
  escalateTo: { channel: string | null; slack: string[]; gitlab: string[] } | null;
  workingHours: WeeklyWindow | null;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `30m`, `4h`, `2d` in milliseconds; null when the text is not such a duration. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}

/** `09:30` in minutes since midnight; null when not a time of day. `24:00` is the end of a day. */
export function parseTimeOfDay(text: string): number | null {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!match) return null;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes <= 24 * 60 ? minutes : null;
}

/** Whether Intl knows the time zone (`Europe/Berlin`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: Weekday;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function local(at: number, zone: string): LocalTime {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: parts.weekday as Weekday,
    minute: Number(parts.hour) * 60 + Number(parts.minute) + Number(parts.second) / 60,
  };
}

/** The instant a local wall-clock time happens in a zone (the later one across a DST change). */
function instant(year: number, month: number, day: number, minute: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day) + minute * 60_000;
  let guess = wall;
  // Two rounds settle the offset, also on the day it changes.
  for (let i = 0; i < 2; i += 1) {
    const seen = local(guess, zone);
    const seenWall = Date.UTC(seen.year, seen.month - 1, seen.day) + Math.round(seen.minute) * 60_000;
    guess += wall - seenWall;
  }
  return guess;
}

/** The window that contains `at`, or the next one after it; null when the window never opens. */
export function windowAt(at: number, window: WeeklyWindow): { start: number; end: number } | null {
  if (window.days.length === 0 || window.toMinute <= window.fromMinute) return null;
  const today = local(at, window.timezone);
  for (let offset = 0; offset <= 7; offset += 1) {
    // Noon of the day `offset` days on, read back in the zone: its date and weekday.
    const noon = local(instant(today.year, today.month, today.day, 12 * 60, window.timezone) + offset * 86_400_000, window.timezone);
    if (!window.days.includes(noon.weekday)) continue;
    const start = instant(noon.year, noon.month, noon.day, window.fromMinute, window.timezone);
    const end = instant(noon.year, noon.month, noon.day, window.toMinute, window.timezone);
    if (end > at) return { start, end };
  }
  return null;
}

/** Whether `at` falls inside the weekly window. */
export function inWindow(at: number, window: WeeklyWindow): boolean {
  const w = windowAt(at, window);
  return w !== null && w.start <= at;
}

/**
 * `start` plus `durationMs`, counting only time inside the working hours when they are set.
 * The result is always a working instant: a duration of zero waits for the next working minute.
 */
export function addWorkingTime(start: number, durationMs: number, hours: WeeklyWindow | null): number {
  if (hours === null) return start + durationMs;
  let at = start;
  let left = durationMs;
  // Bounded: a year of windows is far more than any reminder needs.
  for (let i = 0; i < 400; i += 1) {
    const w = windowAt(at, hours);
    if (w === null) return start + durationMs;
    if (at < w.start) at = w.start;
    if (left <= w.end - at) return at + left;
    left -= w.end - at;
    at = w.end;
  }
  return at + left;
}

/** The next working instant at or after `at` (itself when no working hours are set). */
export function nextWorkingInstant(at: number, hours: WeeklyWindow | null): number {
  return addWorkingTime(at, 0, hours);
}

export type Nudge = 'remind' | 'escalate';

/**
 * When each nudge is first due for a check that started waiting at `since`; null when the rule
 * asks for none.
 */
export function firstDue(kind: Nudge, since: number, r: Reminders): number | null {
  const after = kind === 'remind' ? r.remindAfterMs : r.escalateAfterMs;
  if (after === null) return null;
  if (kind === 'escalate' && r.escalateTo === null) return null;
  return addWorkingTime(since, after, r.workingHours);
}

/** When the reminder after one sent at `sentAt` is due; null when the rule reminds once. */
export function nextReminder(sentAt: number, r: Reminders): number | null {
  return r.remindEveryMs === null ? null : addWorkingTime(sentAt, r.remindEveryMs, r.workingHours);
}

/** How long a check has waited, in words: "45 minutes", "3 hours", "2 days". */
export function age(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ms < 60_000) return unit(Math.max(0, Math.floor(ms / 1000)), 'second');
  if (ms < 3_600_000) return unit(Math.floor(ms / 60_000), 'minute');
  if (ms < 2 * 86_400_000) return unit(Math.floor(ms / 3_600_000), 'hour');
  return unit(Math.floor(ms / 86_400_000), 'day');
}
