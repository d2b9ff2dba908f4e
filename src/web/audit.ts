import type { ServerResponse } from 'node:http';
import type { AuditEvent } from '../ports.js';

export const AUDIT_COLUMNS = ['id', 'at', 'check_id', 'event', 'actor', 'via', 'sha', 'detail'] as const;

/**
 * One CSV field, safe in a spreadsheet whatever delimiter it splits on. Quoted when it holds
 * any common delimiter (`,` `;` tab), a quote or a line break. A spreadsheet that splits on
 * another delimiter than ours ignores our quotes, so every place that can start a cell (the
 * field's start, and after each `,` `;` tab or line break) is defused with a quote mark when
 * it starts like a formula (`= + - @`, also after white space; tab or carriage return at
 * the start): a merge request title or a reason is never run as a formula.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string') {
    text = text.replace(/^(\s*)(?=[=+\-@\t\r])/, "$1'").replace(/([,;\t\r\n])(\s*)(?=[=+\-@])/g, "$1$2'");
  }
  return /[",;\t\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvRow = (e: AuditEvent) => [e.id, e.at.toISOString(), e.checkId, e.event, e.actor, e.via, e.sha, e.detail].map(csvField).join(',');

/** Resolves once the response takes more, or is gone (a client that left never drains). */
const drained = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

/**
 * Writes an export batch by batch as the client reads it: memory holds one batch whatever the
 * range, and a slow client pauses the reading instead of filling the bot's memory. The bytes
 * are those of the header and one CSV line per event (CRLF after each), or of
 * `JSON.stringify({ ...head, events })`.
 */
export async function streamAudit(
  res: ServerResponse,
  format: 'csv' | 'json',
  head: Record<string, unknown>,
  batches: AsyncIterable<readonly AuditEvent[]>,
): Promise<void> {
  const write = async (chunk: string) => {
    if (!res.write(chunk)) await drained(res);
  };
  // The head as JSON.stringify writes it, up to the opening of the events array.
  const opening = JSON.stringify({ ...head, events: [] }).slice(0, -2);
  await write(format === 'csv' ? `${AUDIT_COLUMNS.join(',')}\r\n` : opening);
  let first = true;
  for await (const batch of batches) {
    if (res.destroyed) return;
    if (batch.length === 0) continue;
    if (format === 'csv') await write(batch.map((e) => `${csvRow(e)}\r\n`).join(''));
    else {
      await write(`${first ? '' : ','}${batch.map((e) => JSON.stringify(e)).join(',')}`);
      first = false;
    }
  }
  if (format === 'json') res.write(']}');
  res.end();
}

/** Reads `from`/`to` (ISO 8601 dates or times); the last 30 days by default. */
export function auditRange(query: Record<string, unknown>, now: Date): { from: Date; to: Date } | { error: string } {
  const parse = (name: string, fallback: Date): Date | string => {
    const value = query[name];
    if (value === undefined || value === '') return fallback;
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
      return `${name} must be an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T09:00:00Z`;
    }
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? `${name} is not a valid date: ${value}` : date;
  };
  const from = parse('from', new Date(now.getTime() - 30 * 24 * 60 * 60_000));
  const to = parse('to', new Date(now.getTime() + 1000));
  if (typeof from === 'string') return { error: from };
  if (typeof to === 'string') return { error: to };
  if (from >= to) return { error: 'from must be before to' };
  return { from, to };
}
