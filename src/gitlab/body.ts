import type { IncomingMessage } from 'node:http';

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
  | { ok: false; status: 413 | 503; error: string }
  /** The client went away before the body was complete: nobody to answer. */
  | { ok: false; status: 0 };

/**
 * Reads a request's body within `limit` bytes and the shared budget. A declared
 * Content-Length is refused or reserved before a byte is read; a chunked body takes from the
 * budget as it arrives. On a refusal the caller answers and lets the rest be discarded
 * (`req.resume()`); on success it calls `release` once done with the body.
 */
export function readBounded(req: IncomingMessage, limit: number, budget: BodyBudget): Promise<BodyRead> {
  const tooLarge = { ok: false as const, status: 413 as const, error: `Body is larger than this route accepts (${limit} bytes).` };
  const busy = {
    ok: false as const,
    status: 503 as const,
    error: 'Too many large status check bodies are being read at once (WEBHOOK_BUFFER_LIMIT): nothing was saved; try again shortly.',
  };
  const header = req.headers['content-length'];
  const declared = header === undefined ? null : Number(header);
  if (declared !== null && declared > limit) return Promise.resolve(tooLarge);
  let held = 0;
  if (declared !== null) {
    if (!budget.take(declared, declared > LARGE)) return Promise.resolve(busy);
    held = declared;
  }
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      if (!result.ok) {
        chunks = [];
        budget.give(held);
      }
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return finish(tooLarge);
      if (received > held) {
        if (!budget.take(received - held, received > LARGE)) return finish(busy);
        held = received;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      let released = false;
      const body = Buffer.concat(chunks, received);
      chunks = [];
      finish({
        ok: true,
        body,
        release: () => {
          if (!released) budget.give(held);
          released = true;
        },
      });
    };
    const onGone = () => finish({ ok: false, status: 0 });
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

/** "25mb", "1kb", "512": a size as WEBHOOK_BODY_LIMIT and WEBHOOK_BUFFER_LIMIT write it, in bytes. */
export function sizeInBytes(size: string): number {
  const match = /^(\d+)(b|kb|mb)?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size: ${size}`);
  const unit = { b: 1, kb: 1024, mb: 1024 * 1024 }[(match[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb'];
  return Number(match[1]) * unit;
}
