/**
 * Text as both databases keep it: a lone UTF-16 surrogate (which SQLite would store as bytes no
 * UTF-8 reader accepts) and NUL (which PostgreSQL refuses in text) become U+FFFD.
 */
export function storable(text: string): string {
  return text.toWellFormed().replace(/\0/g, '\uFFFD');
}

/**
 * Text from outside may hold a lone UTF-16 surrogate, which SQLite would store as bytes no
 * UTF-8 reader accepts, or a NUL. Each is replaced by U+FFFD at the edge: here, in the string fields of
 * a form (one level; own properties only, so a `__proto__` field stays a field).
 */
export function wellFormedFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    Object.defineProperty(out, key, { value: typeof value === 'string' ? storable(value) : value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
