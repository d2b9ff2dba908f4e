import fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { Policy, Rule } from '../domain/policy.js';

const list = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

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
  })
  .strict();

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
    })),
  };
}
