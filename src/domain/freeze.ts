import { inWindow, type WeeklyWindow } from './schedule.js';

/** A time when approvals under a rule are refused: a fixed span, or a weekly window. */
export type Freeze =
  | { kind: 'absolute'; from: number; to: number; reason: string }
  | ({ kind: 'weekly'; reason: string } & WeeklyWindow);

/** Who may approve during a freeze, through "Emergency approve", with a reason. */
export interface BreakGlass {
  slack: string[];
  gitlab: string[];
}

/** The freeze that covers `at`, or null. The first listed wins when several do. */
export function frozenBy(freezes: readonly Freeze[] | undefined, at: number): Freeze | null {
  for (const freeze of freezes ?? []) {
    if (freeze.kind === 'absolute' ? freeze.from <= at && at < freeze.to : inWindow(at, freeze)) return freeze;
  }
  return null;
}

/** What someone who approves during a freeze is told. */
export function frozenMessage(what: string, ruleName: string, freeze: Freeze, breakGlass: boolean): string {
  const way = breakGlass ? ' People named in break_glass can use Emergency approve, with a reason.' : '';
  return `${what} is frozen (rule “${ruleName}”): ${freeze.reason}. Approvals are refused until the freeze ends; a rejection still counts.${way} Nothing was recorded.`;
}
