import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string): Promise<Array<string | null>> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, 'src/gitlab/probe.ts') });
  return (result?.messages ?? []).map((m) => m.ruleId);
}

describe('the lint keeps zod imported as a namespace', () => {
  it('a named import of zod fails the lint', async () => {
    expect(await ruleIds("import { z } from 'zod';\nexport const id = z.number();\n")).toEqual(['no-restricted-syntax']);
  });

  it('the namespace import passes', async () => {
    expect(await ruleIds("import * as z from 'zod';\nexport const id = z.number();\n")).toEqual([]);
  });
});
