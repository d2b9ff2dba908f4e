import crypto from 'node:crypto';
import picomatch from 'picomatch';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';

/** One entry of GITLAB_WEBHOOK_SECRETS_FILE: the projects it covers and the secrets they sign with. */
export interface ProjectSecrets {
  projects: string[];
  secrets: string[];
}

/**
 * Who may sign a status check call. GitLab sets the shared secret per status check, so
 * projects may differ, and a secret is rotated by accepting the old and the new one for a while.
 */
export interface WebhookSecrets {
  /** GITLAB_WEBHOOK_SECRET: any one signs a call about a project no entry covers. */
  shared: string[];
  /** GITLAB_WEBHOOK_SECRETS_FILE: the first entry whose globs match a project holds its secrets. */
  perProject: ProjectSecrets[];
  /** The file's path, for messages; null without one. */
  file: string | null;
}

const globs = z
  .union([z.string().min(1, 'must not be empty'), z.array(z.string().min(1, 'must not be empty')).min(1, 'must list at least one glob')], {
    error: 'must be a glob on path_with_namespace (acme/payments-*) or a list of them',
  })
  .transform((v) => (Array.isArray(v) ? v : [v]));

const entry = z
  .object({
    projects: globs,
    secrets: z
      .array(z.string({ error: 'must be a string (quote it)' }).min(1, 'must not be empty'), { error: 'must be a list of secrets, such as [old-secret, new-secret]' })
      .min(1, 'must list at least one secret'),
  })
  .strict();

const fileSchema = z.array(entry, { error: 'must be a list of { projects, secrets } entries' }).min(1, 'must list at least one entry');

/**
 * Reads the YAML of GITLAB_WEBHOOK_SECRETS_FILE. Throws a list of problems, each with its line
 * and key (never a secret's value), such as "line 4: 1.secrets: must list at least one secret".
 */
export function parseSecretsFile(text: string): ProjectSecrets[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) throw new SecretsFileError(doc.errors.map((e) => `line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`));
  const lineOf = (path: PropertyKey[]): number => {
    for (let depth = path.length; depth >= 0; depth -= 1) {
      const node = doc.getIn(path.slice(0, depth) as Array<string | number>, true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return lines.linePos(node.range[0]).line;
    }
    return 1;
  };
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new SecretsFileError(
      parsed.error.issues.map((issue) => {
        const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
        const path = key === undefined ? issue.path : [...issue.path, key];
        const message = issue.code === 'unrecognized_keys' ? 'is not a key of an entry (projects, secrets)' : issue.message;
        return `line ${lineOf(path)}: ${path.map(String).join('.') || 'file'}: ${message}`;
      }),
    );
  }
  return parsed.data;
}

export class SecretsFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'SecretsFileError';
  }
}

/** Every secret that may sign some call: the candidates a signature is checked against before the body is read as JSON. */
export function candidateSecrets(secrets: WebhookSecrets): string[] {
  return [...new Set([...secrets.shared, ...secrets.perProject.flatMap((e) => e.secrets)])];
}

/** The secrets that may sign a call about this project, and where they come from; null when none may. */
export function secretsFor(secrets: WebhookSecrets, projectPath: string): { secrets: string[]; from: string } | null {
  const index = secrets.perProject.findIndex((e) => e.projects.some((glob) => picomatch.isMatch(projectPath, glob, { dot: true })));
  const hit = secrets.perProject[index];
  if (hit) return { secrets: hit.secrets, from: `entry ${index + 1} of GITLAB_WEBHOOK_SECRETS_FILE (projects ${hit.projects.join(', ')})` };
  if (secrets.shared.length > 0) return { secrets: secrets.shared, from: 'GITLAB_WEBHOOK_SECRET' };
  return null;
}

/** Whether a header can be GitLab's signature at all: lowercase (or any case) hex of 32 bytes. */
export const looksLikeSignature = (header: string): boolean => /^[0-9a-f]{64}$/i.test(header);

/** The secret among `candidates` whose hex HMAC-SHA256 of the body is `signature`; null when none. Each comparison in constant time. */
export function signedWith(body: Buffer, signature: string, candidates: string[]): string | null {
  if (!looksLikeSignature(signature)) return null;
  const given = Buffer.from(signature, 'hex');
  return candidates.find((secret) => crypto.timingSafeEqual(given, crypto.createHmac('sha256', secret).update(body).digest())) ?? null;
}
