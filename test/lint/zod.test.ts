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
  it.each([
    "import { z } from 'zod';\nexport const id = z.number();\n",
    "import z from 'zod';\nexport const id = z.number();\n",
    "import { z } from 'zod/v4';\nexport const id = z.number();\n",
    "export { z } from 'zod';\n",
    "export * as z from 'zod';\n",
  ])('fails the lint: %s', async (code) => {
    expect(await ruleIds(code)).toEqual(['no-restricted-syntax']);
  });

  it.each([
    "import * as z from 'zod';\nexport const id = z.number();\n",
    "import { ZodError } from 'zod';\nexport const isZod = (e: unknown) => e instanceof ZodError;\n",
    "import type { ZodType } from 'zod';\nexport type Schema = ZodType;\n",
  ])('passes: %s', async (code) => {
    expect(await ruleIds(code)).toEqual([]);
  });
});
