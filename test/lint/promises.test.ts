import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** The rules about promises that ESLint names for this code, as if it were the file at `file`. */
async function promiseErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message).filter((rule) => /promise|not found|parsing/i.test(rule));
}

describe('the lint keeps every store call awaited', () => {
  it('a store call left floating fails the lint', async () => {
    const code = "import type { CheckPort } from '../ports.js';\nexport async function forget(store: CheckPort): Promise<void> {\n  store.setCardError(1, null, new Date());\n}\n";
    expect(await promiseErrors('src/slack/probe.ts', code)).toEqual(['@typescript-eslint/no-floating-promises']);
  });

  it('a store call used as a condition fails the lint', async () => {
    const code = "import type { CheckPort } from '../ports.js';\nexport function open(store: CheckPort): boolean {\n  return store.getCheck(1) ? true : false;\n}\n";
    expect(await promiseErrors('src/web/probe.ts', code)).toEqual(['@typescript-eslint/no-misused-promises']);
  });

  it('the same calls awaited pass', async () => {
    const code =
      "import type { CheckPort } from '../ports.js';\nexport async function kept(store: CheckPort): Promise<boolean> {\n  await store.setCardError(1, null, new Date());\n  return (await store.getCheck(1)) !== null;\n}\n";
    expect(await promiseErrors('src/slack/probe.ts', code)).toEqual([]);
  });
});
