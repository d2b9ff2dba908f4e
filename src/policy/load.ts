import fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import type { Freeze } from '../domain/freeze.js';
import type { Policy, Rule } from '../domain/policy.js';
import { isTimeZone, parseDuration, parseTimeOfDay, WEEKDAYS, type Reminders, type WeeklyWindow } from '../domain/schedule.js';

const list = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

// --- reminders, escalation, working hours, freezes, break glass --------------------------

const duration = z
  .string({ error: 'must be a duration such as 90s, 30m, 4h or 2d' })
  .refine((v) => parseDuration(v) !== null, 'must be a duration such as 90s, 30m, 4h or 2d (a whole number and s, m, h or d)')
  .transform((v) => parseDuration(v) as number);
const day = z.enum(WEEKDAYS, { error: 'must be a day: Mon, Tue, Wed, Thu, Fri, Sat or Sun' });
const timeOfDay = z
  .string({ error: 'must be a time of day such as "09:00" (quoted)' })
  .refine((v) => parseTimeOfDay(v) !== null, 'must be a time of day such as "09:00", from 00:00 to 24:00');
const timezone = z.string().refine(isTimeZone, 'is not a time zone this system knows: use an IANA name such as Europe/Berlin or UTC');
const slackPeople = z.array(z.string().regex(/^[UWS][A-Z0-9]{2,}$/, 'must be a Slack user ID (U…, W…) or user-group ID (S…)')).default([]);
const gitlabPeople = z.array(z.string().regex(/^[\w.-]+$/, 'must be a GitLab username')).default([]);
const channelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel ID such as C0123456789');

/** `to` must come after `from`, reported on `to`'s line. */
const ordered = (value: { from: string; to: string }, ctx: z.core.$RefinementCtx, read: (v: string) => number | null) => {
  const from = read(value.from);
  const to = read(value.to);
  if (from !== null && to !== null && to <= from) ctx.addIssue({ code: 'custom', path: ['to'], message: `must be after from (${value.from})` });
};

const weekly = (v: { days: Array<(typeof WEEKDAYS)[number]>; from: string; to: string; timezone: string }): WeeklyWindow => ({
  days: v.days,
  fromMinute: parseTimeOfDay(v.from) as number,
  toMinute: parseTimeOfDay(v.to) as number,
  timezone: v.timezone,
});

const workingHoursSchema = z
  .object({ days: z.array(day).min(1, 'must list at least one day'), from: timeOfDay, to: timeOfDay, timezone })
  .strict()
  .superRefine((v, ctx) => ordered(v, ctx, parseTimeOfDay));

const instant = z.iso.datetime({ offset: true, error: 'must be a date and time such as "2026-12-20T00:00:00Z"' });
const freezeSchema = z
  .object({
    from: z.string({ error: 'is required' }),
    to: z.string({ error: 'is required' }),
    days: z.array(day).min(1, 'must list at least one day').optional(),
    timezone: timezone.optional(),
    reason: z.string({ error: 'is required: it is what people are told when an approval is refused' }).min(1),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.days !== undefined) {
      // Weekly: times of day in a time zone.
      for (const key of ['from', 'to'] as const) {
        if (parseTimeOfDay(v[key]) === null) ctx.addIssue({ code: 'custom', path: [key], message: 'must be a time of day such as "16:00" in a weekly freeze' });
      }
      if (v.timezone === undefined) ctx.addIssue({ code: 'custom', path: ['days'], message: 'a weekly freeze needs a timezone, such as Europe/Berlin' });
      ordered(v, ctx, parseTimeOfDay);
      return;
    }
    for (const key of ['from', 'to'] as const) {
      if (!instant.safeParse(v[key]).success) ctx.addIssue({ code: 'custom', path: [key], message: 'must be a date and time such as "2026-12-20T00:00:00Z" (or give days for a weekly freeze)' });
    }
    ordered(v, ctx, (s) => (instant.safeParse(s).success ? Date.parse(s) : null));
  })
  .transform((v): Freeze =>
    v.days !== undefined
      ? { kind: 'weekly', reason: v.reason, ...weekly({ days: v.days, from: v.from, to: v.to, timezone: v.timezone as string }) }
      : { kind: 'absolute', from: Date.parse(v.from), to: Date.parse(v.to), reason: v.reason },
  );

const ruleSchema = z
  .object({
    name: z.string().min(1).optional(),
    projects: list.default(['**']),
    branches: list.default(['**']),
    channel: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel ID such as C0123456789').optional(),
    approvers: z
      .object({
        slack: z.array(z.string().regex(/^[UWS][A-Z0-9]{2,}$/, 'must be a Slack user ID (U…, W…) or user-group ID (S…)')).default([]),
        emails: z.array(z.email({ error: 'must be an e-mail address' })).default([]),
        gitlab: z.array(z.string().regex(/^[\w.-]+$/, 'must be a GitLab username')).default([]),
        web: z.array(z.string().regex(/^[^:\s]+$/, 'must be a WEB_USERS name')).default([]),
      }, { error: (issue) => (issue.code === 'invalid_type' ? 'must be a map such as { slack: [U0123ABCD], gitlab: [dreyes] }, not a list' : undefined) })
      .strict()
      .optional(),
    required: z.number().int().min(1, 'must be 1 or more').max(10).default(1),
    allow_self_approval: z.boolean().default(false),
    approve_with_comment: z.boolean().default(false),
    remind_after: duration.optional(),
    remind_every: duration.optional(),
    escalate_after: duration.optional(),
    escalate_to: z.object({ channel: channelId.optional(), slack: slackPeople, gitlab: gitlabPeople }).strict().optional(),
    working_hours: workingHoursSchema.optional(),
    freezes: z.array(freezeSchema).optional(),
    break_glass: z.object({ slack: slackPeople, gitlab: gitlabPeople }).strict().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.escalate_after !== undefined && r.escalate_to === undefined) {
      ctx.addIssue({ code: 'custom', path: ['escalate_after'], message: 'needs escalate_to: whom to tell, such as { channel: C0ONCALL, slack: [U0LEAD] }' });
    }
    if (r.remind_every !== undefined && r.remind_after === undefined) {
      ctx.addIssue({ code: 'custom', path: ['remind_every'], message: 'needs remind_after: when the first reminder is due' });
    }
  });

const policySchema = z.object({ rules: z.array(ruleSchema).min(1, 'must list at least one rule') }).strict();

export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`The policy file ${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PolicyError';
  }
}

/**
 * Reads and checks a policy file. Problems name the line and what is wrong, so an operator
 * can fix the file without guessing; the bot does not start with an invalid policy.
 */
export function loadPolicy(file: string, fallback: Rule): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyError(file, [`cannot be read: ${(error as Error).message}`]);
  }
  return parsePolicy(text, file, fallback);
}

export function parsePolicy(text: string, file: string, fallback: Rule): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      file,
      doc.errors.map((e) => `line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`),
    );
  }
  /** The line of the deepest node that exists on the path (a key's own line for map entries). */
  const lineOf = (path: Array<string | number>): number => {
    for (let depth = path.length; depth > 0; depth -= 1) {
      const parent = doc.getIn(path.slice(0, depth - 1), true) as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] }; range?: [number, number, number] }> } | undefined;
      const last = path[depth - 1];
      const pair = parent?.items?.find((item, i) => (typeof last === 'number' ? i === last : item.key?.value === last));
      const range = pair?.key?.range ?? pair?.range;
      if (range) return lines.linePos(range[0]).line;
    }
    return 1;
  };
  const parsed = policySchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new PolicyError(
      file,
      parsed.error.issues.map((issue) => {
        // An unknown key is reported on its parent map: point at the key itself.
        const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
        const path = (key === undefined ? issue.path : [...issue.path, key]) as Array<string | number>;
        return `line ${lineOf(path)}: ${path.join('.') || 'file'}: ${issue.message}`;
      }),
    );
  }
  return {
    fallback,
    rules: parsed.data.rules.map((r, i) => ({
      name: r.name ?? `rule ${i + 1}`,
      projects: r.projects,
      branches: r.branches,
      channel: r.channel ?? fallback.channel,
      approvers: r.approvers ?? fallback.approvers,
      required: r.required,
      allowSelfApproval: r.allow_self_approval,
      approveWithComment: r.approve_with_comment,
      reminders: remindersOf(r),
      freezes: r.freezes ?? [],
      breakGlass: r.break_glass ?? null,
    })),
  };
}

function remindersOf(r: z.infer<typeof ruleSchema>): Reminders | null {
  if (r.remind_after === undefined && r.escalate_after === undefined) return null;
  return {
    remindAfterMs: r.remind_after ?? null,
    remindEveryMs: r.remind_every ?? null,
    escalateAfterMs: r.escalate_after ?? null,
    escalateTo: r.escalate_to ? { channel: r.escalate_to.channel ?? null, slack: r.escalate_to.slack, gitlab: r.escalate_to.gitlab } : null,
    workingHours: r.working_hours ? weekly(r.working_hours) : null,
  };
}
