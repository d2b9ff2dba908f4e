import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The boundaries of the code: the domain imports nothing outside itself (and no transport or
 * database library); an adapter (Slack, GitLab, the web list, the store) never imports
 * another. What they share lives in src/domain or src/ports.ts.
 */
const ADAPTERS = ['slack', 'gitlab', 'web', 'store'];
/** All SQL lives in the store: no other part opens a database or builds a query. */
const DATABASE_LIBRARIES = { regex: '^(better-sqlite3|pg|kysely)$', message: 'Only src/store speaks to the database: add a store method and call it through a port.' };
const adapterBoundary = (adapter) => ({
  files: [`src/${adapter}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...ADAPTERS.filter((other) => other !== adapter).map((other) => ({
            regex: `^(\\.\\./)+${other}/`,
            message: `src/${adapter} is an adapter and may not import src/${other}, another adapter: share through src/domain or src/ports.ts.`,
          })),
          ...(adapter === 'store' ? [] : [DATABASE_LIBRARIES]),
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^\\.\\./', message: 'src/domain knows nothing outside itself: move what it needs into src/domain, or keep this code out of it.' },
            {
              regex: '^(node:)?(http|https|net|fs|express|better-sqlite3|pg|kysely|@slack/.*|@gitbeaker/.*)$',
              message: 'src/domain knows nothing of HTTP, SQL, Slack or GitLab: that belongs in an adapter.',
            },
          ],
        },
      ],
    },
  },
  ...ADAPTERS.map(adapterBoundary),
  {
    // The use cases see adapters only through the ports and functions they are given.
    files: ['src/gate.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: `^\\./(${ADAPTERS.join('|')})/`, message: 'The gate reaches adapters only through src/ports.ts and what startBot passes in.' }, DATABASE_LIBRARIES] },
      ],
    },
  },
  {
    // Every store call is a promise: one not awaited is a write that may land after its
    // transaction, or a rejection nobody handles.
    files: ['src/**/*.ts'],
    languageOptions: {
      parserOptions: {
        // The probe files are the lint's own test of the boundaries, linted as text.
        projectService: { allowDefaultProject: ['src/*/probe.ts', 'src/slack/listeners/actions/probe.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // zod's `z` export carries every locale with it: a namespace import lets the bundle keep
    // only what is used (half a megabyte less to parse at every start).
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value=/^zod(\\/|$)/][importKind!='type'] > :matches(ImportSpecifier[imported.name='z'], ImportDefaultSpecifier)",
          message: "Import zod as `import * as z from 'zod'`: its `z` or default export keeps all of its locales in the bundle.",
        },
        {
          selector: ':matches(ExportNamedDeclaration, ExportAllDeclaration)[source.value=/^zod(\\/|$)/]',
          message: "Import zod as `import * as z from 'zod'` where it is used: passing it on keeps all of its locales in the bundle.",
        },
      ],
    },
  },
  {
    files: ['src/demo/**', 'bench/**', 'test/**', '.ci/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['.ci/**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
);
