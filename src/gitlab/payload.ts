import * as z from 'zod';
import type { MergeRequestEvent } from '../domain/check.js';
import { storable } from '../well-formed.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).overwrite(storable);
const id = z.number().int().positive();
/** A string whose lone UTF-16 surrogates become U+FFFD (SQLite would store them as invalid UTF-8). */
const text = () => z.string().overwrite(storable);

/**
 * The part of GitLab's external status check call that the bot uses. Anything else in the
 * payload passes untouched: GitLab adds fields between versions. Lone surrogates become U+FFFD.
 */
export const statusCheckPayload = z.object({
  object_kind: z.literal('merge_request', { error: 'must be "merge_request"' }),
  user: z.object({ username: text().optional() }).optional(),
  project: z.object({
    id,
    path_with_namespace: text().min(1),
    web_url: httpUrl,
  }),
  object_attributes: z.object({
    iid: id,
    title: text(),
    url: httpUrl,
    source_branch: text().min(1),
    target_branch: text().min(1),
    state: z.enum(['opened', 'closed', 'merged', 'locked']),
    updated_at: text().optional(),
    draft: z.boolean().optional(),
    work_in_progress: z.boolean().optional(),
    last_commit: z.object({
      id: text().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit SHA'),
      author: z.object({ name: text().optional(), email: text().optional() }).optional(),
    }),
  }),
  external_approval_rule: z.object({ id, name: text().min(1) }),
});

export type StatusCheckPayload = z.infer<typeof statusCheckPayload>;

/** Names the first problem: "object_attributes.last_commit: required". */
export function describeProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const where = issue.path.length ? issue.path.join('.') : 'body';
  const missing = issue.code === 'invalid_type' && issue.message.includes('received undefined');
  return `${where}: ${missing ? 'required' : issue.message}`;
}

export function toEvent(p: StatusCheckPayload): MergeRequestEvent {
  const mr = p.object_attributes;
  return {
    projectId: p.project.id,
    projectPath: p.project.path_with_namespace,
    projectUrl: p.project.web_url,
    mergeRequestIid: mr.iid,
    title: mr.title,
    url: mr.url,
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    sha: mr.last_commit.id,
    statusCheckId: p.external_approval_rule.id,
    statusCheckName: p.external_approval_rule.name,
    commitAuthor: mr.last_commit.author?.name ?? null,
    // GitLab may send "[REDACTED]" in place of an address.
    commitAuthorEmail: mr.last_commit.author?.email?.includes('@') ? mr.last_commit.author.email : null,
    triggeredBy: p.user?.username ?? null,
    mergeRequestState: mr.state,
    draft: mr.draft ?? mr.work_in_progress ?? false,
    updatedAt: gitlabTime(mr.updated_at),
  };
}

/** GitLab writes "2026-11-20 09:30:02 UTC" in webhooks (ISO 8601 elsewhere); null when neither. */
function gitlabTime(value: string | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/, '$1T$2Z'));
  return Number.isNaN(date.getTime()) ? null : date;
}
