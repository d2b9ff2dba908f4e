/**
 * Text from outside may hold a lone UTF-16 surrogate, which SQLite would store as bytes no
 * UTF-8 reader accepts. Each is replaced by U+FFFD at the edge: here, in the string fields of
 * a form (one level; own properties only, so a `__proto__` field stays a field).
 */
export function wellFormedFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    Object.defineProperty(out, key, { value: typeof value === 'string' ? value.toWellFormed() : value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
