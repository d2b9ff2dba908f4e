import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';

/** Past this size a body is large: it may not take the part of the budget kept for ordinary calls. */
const LARGE = 1024 * 1024;

/**
 * The bytes that status check bodies may hold while they are read and checked, across all
 * requests at once. Without it, anyone could make the bot hold 25 MB per connection before
 * the signature is known. Large bodies may take three quarters; the last quarter stays free
 * for the few kilobytes GitLab usually sends, so a flood of large bodies does not shut it out.
 */
export class BodyBudget {
  #used = 0;

  constructor(readonly total: number) {}

  get used(): number {
    return this.#used;
  }

  take(bytes: number, large: boolean): boolean {
    const cap = large ? Math.floor(this.total * 0.75) : this.total;
    if (this.#used + bytes > cap) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

export type BodyRead =
  | { ok: true; body: Buffer; release: () => void }
  | { ok: false; status: 400 | 413 | 503; error: string }
  /** The client went away before the body was complete: nobody to answer. */
  | { ok: false; status: 0 };

/**
 * Reads a request's body within `limit` bytes and the shared budget. The bytes are reserved
 * before a byte is read: the declared Content-Length, or the limit for a chunked body (which
 * declares none; GitLab always sends a length). On a refusal the caller answers and lets the
 * rest be discarded (`req.resume()`); on success it calls `release` once done with the body.
 */
export async function readBounded(req: IncomingMessage, limit: number, budget: BodyBudget): Promise<BodyRead> {
  const tooLarge = { ok: false as const, status: 413 as const, error: `Body is larger than this route accepts (${limit} bytes).` };
  const header = req.headers['content-length'];
  const declared = header === undefined ? null : Number(header);
  if (declared !== null && declared > limit) return tooLarge;
  const reserved = declared ?? limit;
  if (!budget.take(reserved, reserved > LARGE)) {
    return {
      ok: false,
      status: 503,
      error: 'Too many large status check bodies are being read at once (WEBHOOK_BUFFER_LIMIT): nothing was saved; try again shortly.',
    };
  }
  let released = false;
  const release = () => {
    if (!released) budget.give(reserved);
    released = true;
  };
  try {
    const body = await getRawBody(req, { limit, length: declared ?? undefined });
    return { ok: true, body, release };
  } catch (error) {
    release();
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') return tooLarge;
    if (type === 'request.aborted') return { ok: false, status: 0 };
    return { ok: false, status: 400, error: `The body could not be read: ${(error as Error).message}.` };
  }
}

/** "25mb", "1kb", "512": a size as WEBHOOK_BODY_LIMIT and WEBHOOK_BUFFER_LIMIT write it, in bytes. */
export function sizeInBytes(size: string): number {
  const match = /^(\d+)(b|kb|mb)?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size: ${size}`);
  const unit = { b: 1, kb: 1024, mb: 1024 * 1024 }[(match[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb'];
  return Number(match[1]) * unit;
}
