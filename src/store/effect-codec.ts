import * as z from 'zod';
import { isEffectKind, type Effect, type EffectKind } from '../domain/effects.js';

/**
 * The one place an outbox row (kind + JSON payload) becomes a typed effect. Rows keep the
 * format they always had, so a database written by an older version reads the same; a row
 * this build cannot read is reported rather than handed to a handler that would misread it.
 */
const payloads = {
  post_card: z.null(),
  update_card: z.null(),
  report: z.object({
    projectId: z.number(),
    mergeRequestIid: z.number(),
    sha: z.string(),
    statusCheckId: z.number(),
    status: z.enum(['passed', 'failed', 'pending']),
    withdrawal: z.boolean().optional(),
  }),
  note: z.object({ projectId: z.number(), mergeRequestIid: z.number(), body: z.string() }),
  remind: z.object({ waitedMs: z.number() }),
  escalate: z.object({ waitedMs: z.number() }),
  break_glass_notice: z.object({ channel: z.string(), freeze: z.string(), by: z.string(), via: z.enum(['slack', 'web']), reason: z.string() }),
  notify_author: z.object({ about: z.enum(['approved', 'rejected', 'regated', 'report_refused']) }),
  refresh_home: z.object({ userId: z.string() }),
} satisfies Record<EffectKind, z.ZodType>;

/** The stored form of an effect. */
export function encodeEffect(effect: Effect): { kind: EffectKind; payload: string } {
  return { kind: effect.kind, payload: JSON.stringify(effect.payload ?? null) };
}

/** An effect read back, or why the row cannot be read. */
export function decodeEffect(kind: string, payload: string): { ok: true; effect: Effect } | { ok: false; problem: string } {
  if (!isEffectKind(kind)) return { ok: false, problem: `no handler for ${kind}: this build does not know that kind of delivery` };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, problem: `the ${kind} delivery's payload is not JSON` };
  }
  const parsed = payloads[kind].safeParse(json);
  if (!parsed.success) return { ok: false, problem: `the ${kind} delivery's payload does not fit: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ')}` };
  return { ok: true, effect: { kind, payload: parsed.data } as Effect };
}
