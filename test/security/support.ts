import http from 'node:http';
import { listen } from '../../src/fakes/http.js';

/**
 * A small seeded random source (mulberry32): the same seed gives the same inputs, so a
 * failing fuzz run can be replayed exactly.
 */
export class Random {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += '0123456789abcdef'[this.int(16)];
    return out;
  }

  /** Text mixing ASCII, markup, control characters, right-to-left marks, emoji and lone surrogates. */
  text(maxLength: number): string {
    const pieces = ['a', 'Z', '0', ' ', '"', '\\', '<', '>', '&', '%', '+', '=', '\n', '\t', '\u0000', '\u001b', '\u200f', '\u202e', 'é', 'ß', '漢', '😀', '\ud800', '\udfff', '<!channel>', '${x}', "'; DROP TABLE status_check; --"];
    const length = this.int(maxLength + 1);
    let out = '';
    while (out.length < length) out += this.pick(pieces);
    return out;
  }

  /** A header value Node's client will send: visible ASCII and Latin-1, no control characters. */
  headerValue(maxLength: number): string {
    let out = '';
    const length = 1 + this.int(maxLength);
    for (let i = 0; i < length; i++) {
      const code = this.chance(0.85) ? 0x20 + this.int(0x5f) : 0xa0 + this.int(0x60);
      out += String.fromCharCode(code);
    }
    return out.trim() || 'x';
  }
}

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * POSTs raw bytes with exactly the given headers (arrays send a header line per value) and
 * no help from a client library: no added content type, chunked when `chunked` is set.
 * A response that arrives before the whole body was written (413) is still returned.
 */
export function rawPost(
  url: string,
  body: Buffer,
  headers: http.OutgoingHttpHeaders,
  { agent, chunked = false, timeoutMs = 15_000 }: { agent?: http.Agent; chunked?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    let answered = false;
    const req = http.request(
      { method: 'POST', host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, agent, headers: chunked ? headers : { ...headers, 'content-length': body.length } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    // Errors after the answer arrived (EPIPE from a refused upload) are not the bot's failure.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (chunked && body.length > 0) {
      const cut = Math.floor(body.length / 2);
      req.write(body.subarray(0, cut));
      req.end(body.subarray(cut));
    } else {
      req.end(body);
    }
  });
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inPool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A server that should never be called: every hit is recorded (a response_url in a forged payload). */
export async function startTrap(): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const { url, close } = await listen((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  return { url, hits, close };
}
