import type { CheckState } from '../domain/check.js';
import type { CheckCursor } from '../ports.js';
import { storable } from '../well-formed.js';

/** The state filters the web list offers, in the words of its menu. `null`: every state. */
export const STATE_FILTERS = {
  pending: { label: 'Waiting for a decision', states: ['pending'] },
  approved: { label: 'Approved', states: ['approved'] },
  rejected: { label: 'Rejected', states: ['rejected'] },
  stale: { label: 'Stale (GitLab had a newer commit)', states: ['stale'] },
  superseded: { label: 'Superseded by a newer commit', states: ['superseded'] },
  closed: { label: 'Closed undecided', states: ['closed'] },
  merged: { label: 'Merged undecided', states: ['merged'] },
  decided: { label: 'Everything no longer waiting', states: ['approved', 'rejected', 'stale', 'superseded', 'closed', 'merged'] },
  all: { label: 'Everything', states: null },
} as const satisfies Record<string, { label: string; states: readonly CheckState[] | null }>;

export type StateFilter = keyof typeof STATE_FILTERS;

/**
 * What a request to the web list asks for. Without `state` it is the front page: what waits,
 * then the most recent decisions; with one, a single list that pages on.
 */
export interface ListQuery {
  state: StateFilter | null;
  q: string | null;
  after: CheckCursor | null;
}

const MAX_Q = 200;

/** Where a page ended, as the Next link carries it: `<id>` for pending, `<updated_at>_<id>` otherwise. */
export function cursorParam(cursor: CheckCursor): string {
  return cursor.updatedAt ? `${cursor.updatedAt}_${cursor.id}` : String(cursor.id);
}

export function parseListQuery(query: Record<string, unknown>): ListQuery | { error: string } {
  const text = (name: string): string | null | { error: string } => {
    const value = query[name];
    if (value === undefined || value === '') return null;
    if (typeof value !== 'string') return { error: `${name} was given more than once; give it once.` };
    return value;
  };
  const state = text('state');
  const q = text('q');
  const after = text('after');
  for (const part of [state, q, after]) if (part && typeof part === 'object') return part;

  if (typeof state === 'string' && !Object.hasOwn(STATE_FILTERS, state)) {
    return { error: `state must be one of ${Object.keys(STATE_FILTERS).join(', ')}; “${state.slice(0, 40)}” is not.` };
  }
  // As stored text is (no NUL, no lone surrogate), so that it can match it on either database.
  const search = typeof q === 'string' ? storable(q.trim()) : '';
  if (search.length > MAX_Q) return { error: `The search is ${search.length} characters long; keep it to ${MAX_Q}.` };

  let cursor: CheckCursor | null = null;
  if (typeof after === 'string') {
    const byNumber = /^(\d{1,15})$/.exec(after);
    const byChange = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)_(\d{1,15})$/.exec(after);
    if (state === 'pending' && byNumber) cursor = { id: Number(byNumber[1]), updatedAt: null };
    else if (state !== null && state !== 'pending' && byChange) cursor = { id: Number(byChange[2]), updatedAt: byChange[1] as string };
    else return { error: 'after does not mark a page of this list: follow the list’s Next link instead of editing it.' };
  }
  return { state: state as StateFilter | null, q: search === '' ? null : search, after: cursor };
}

/** The address of a list page with these settings (and nothing empty in it). */
export function listHref(basePath: string, settings: { state?: StateFilter | null; q?: string | null; after?: CheckCursor | null }): string {
  const params = new URLSearchParams();
  if (settings.q) params.set('q', settings.q);
  if (settings.state) params.set('state', settings.state);
  if (settings.after) params.set('after', cursorParam(settings.after));
  const search = params.toString();
  return `${basePath}/${search ? `?${search}` : ''}`;
}
