import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';

/** The project root: test/deploy/../.. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared schemas live beside the clone, not in it; CI elsewhere may not have them. */
export const sharedSchemasDir = path.resolve(repoRoot, '../shared/schemas');

export function sharedSchemaPath(name: string): string {
  return path.join(sharedSchemasDir, name);
}

export function hasSharedSchema(name: string): boolean {
  const present = existsSync(sharedSchemaPath(name));
  if (!present) {
    console.warn(`skipping schema validation: ${sharedSchemaPath(name)} is not there (../shared sits beside the clone only in the project's own CI)`);
  }
  return present;
}

export function readRepoFile(relativePath: string): string {
  return readFileSync(path.join(repoRoot, relativePath), 'utf8');
}

export function readYamlFile(relativePath: string): unknown {
  return parse(readRepoFile(relativePath));
}

/** Every non-empty document of a multi-document YAML stream; a syntax error throws. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text).flatMap((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${source}, document ${index + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a nested value, e.g. at(obj, 'spec', 'template', 'spec'); undefined when any step is missing. */
export function at(value: unknown, ...keys: (string | number)[]): unknown {
  let current: unknown = value;
  for (const key of keys) {
    if (typeof key === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[key];
    } else {
      if (!isObject(current)) return undefined;
      current = current[key];
    }
  }
  return current;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Validates data against a JSON schema file from ../shared/schemas.
 * Both schemas are draft-07, Ajv's default draft; strict is off because the
 * Slack schema carries a non-standard `regex` keyword.
 */
export function validateWithSharedSchema(schemaName: string, data: unknown): string[] {
  const schema: unknown = JSON.parse(readFileSync(sharedSchemaPath(schemaName), 'utf8'));
  if (!isObject(schema)) throw new Error(`${schemaName} is not a JSON object`);
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('uri-reference', (s: string) => URL.canParse(s, 'http://relative.invalid/'));
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  ajv.addFormat('regex', (s: string) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  });
  const validate = ajv.compile(schema);
  if (validate(data)) return [];
  return (validate.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'} ${JSON.stringify(e.params)}`,
  );
}
