import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** The boundary messages ESLint gives for this code, as if it were the file at `file`. */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the lint keeps the boundaries', () => {
  it.each([
    { file: 'src/domain/probe.ts', code: "import type { Gate } from '../gate.js';\nexport type G = Gate;\n", says: 'src/domain knows nothing outside itself' },
    { file: 'src/domain/probe.ts', code: "import http from 'node:http';\nexport const h = http;\n", says: 'src/domain knows nothing of HTTP, SQL, Slack or GitLab' },
    { file: 'src/domain/probe.ts', code: "import Database from 'better-sqlite3';\nexport const d = Database;\n", says: 'src/domain knows nothing of HTTP, SQL, Slack or GitLab' },
    { file: 'src/slack/probe.ts', code: "import type { Store } from '../store/store.js';\nexport type S = Store;\n", says: 'src/slack is an adapter and may not import src/store' },
    { file: 'src/slack/listeners/actions/probe.ts', code: "import { gitlabText } from '../../../gitlab/markdown.js';\nexport const t = gitlabText;\n", says: 'src/slack is an adapter and may not import src/gitlab' },
    { file: 'src/gitlab/probe.ts', code: "import { renderCard } from '../slack/card.js';\nexport const r = renderCard;\n", says: 'src/gitlab is an adapter and may not import src/slack' },
    { file: 'src/web/probe.ts', code: "import { Store } from '../store/store.js';\nexport const s = Store;\n", says: 'src/web is an adapter and may not import src/store' },
    { file: 'src/store/probe.ts', code: "import { escapeHtml } from '../web/html.js';\nexport const e = escapeHtml;\n", says: 'src/store is an adapter and may not import src/web' },
    { file: 'src/domain/probe.ts', code: "import { Kysely } from 'kysely';\nexport const k = Kysely;\n", says: 'src/domain knows nothing of HTTP, SQL, Slack or GitLab' },
    { file: 'src/web/probe.ts', code: "import pg from 'pg';\nexport const p = pg;\n", says: 'Only src/store speaks to the database' },
    { file: 'src/slack/probe.ts', code: "import { sql } from 'kysely';\nexport const s = sql;\n", says: 'Only src/store speaks to the database' },
    { file: 'src/gate.ts', code: "import { sql } from 'kysely';\nexport const s = sql;\n", says: 'Only src/store speaks to the database' },
    { file: 'src/gate.ts', code: "import { gitlabQuote } from './gitlab/markdown.js';\nexport const q = gitlabQuote;\n", says: 'The gate reaches adapters only through src/ports.ts' },
  ])('$file may not import that: $says', async ({ file, code, says }) => {
    const errors = await boundaryErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(says);
  });

  it.each([
    { file: 'src/domain/probe.ts', code: "import type { Check } from './check.js';\nexport type C = Check;\n" },
    { file: 'src/slack/probe.ts', code: "import type { Check } from '../domain/check.js';\nimport { StoreUnavailable } from '../ports.js';\nexport type C = Check;\nexport const s = StoreUnavailable;\n" },
    { file: 'src/slack/listeners/actions/probe.ts', code: "import { renderCard } from '../../card.js';\nexport const r = renderCard;\n" },
    { file: 'src/store/probe.ts', code: "import pg from 'pg';\nimport { Kysely } from 'kysely';\nexport const both = [pg, Kysely];\n" },
    { file: 'src/app.ts', code: "import { Store } from './store/store.js';\nimport { webRouter } from './web/router.js';\nexport const wiring = [Store, webRouter];\n" },
  ])('$file may import what it shares', async ({ file, code }) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });
});
