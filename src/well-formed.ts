/**
 * Text from outside (JSON, form fields) may hold a lone UTF-16 surrogate, which SQLite would
 * store as bytes no UTF-8 reader accepts. Each is replaced by U+FFFD at the edge, in strings
 * and, for parsed JSON, in every string and key within.
 */
export function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return value.toWellFormed() as T;
  if (Array.isArray(value)) return value.map((item: unknown) => wellFormed(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key.toWellFormed()] = wellFormed(item as unknown);
    return out as T;
  }
  return value;
}
