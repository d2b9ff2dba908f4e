/**
 * Bundles the bot for `npm run build`: dist/main.js and the chunks it loads later, so that a
 * start reads and compiles a few files instead of hundreds of modules, each resolved on disk.
 * better-sqlite3, a native addon, stays in node_modules. `--outdir` writes elsewhere (tests).
 */
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });

/**
 * Libraries that Bolt loads at every start but only some configurations use run at their
 * first use instead. Each is deferred only where the importer named here requires it, and
 * that importer reads its exports by name only (`lib.Name`, when it needs one), which is all
 * the stand-in object it gets has to forward.
 */
const ON_FIRST_USE = [
  // Socket Mode's WebSocket client (undici, a megabyte of code), read from node_modules when
  // a socket opens: Bolt loads Socket Mode even for bots that take events over HTTP.
  { name: 'undici', importer: /[\\/]@slack[\\/]socket-mode[\\/]/, external: true },
  // Slack's OAuth installer (with jsonwebtoken and semver), for apps installed in many
  // workspaces; this bot has one bot token and never installs.
  { name: '@slack/oauth', importer: /[\\/]@slack[\\/]bolt[\\/]/, external: false },
];

const onFirstUse = {
  name: 'on-first-use',
  setup(build) {
    const names = new RegExp(`^(${ON_FIRST_USE.map((l) => l.name.replace('/', '\\/')).join('|')})$`);
    build.onResolve({ filter: names }, ({ path: name, importer, namespace }) => {
      const lib = ON_FIRST_USE.find((l) => l.name === name);
      // The stand-in's own require: the library itself, bundled or left in node_modules.
      if (namespace === 'on-first-use') return lib.external ? { path: name, external: true } : undefined;
      return lib.importer.test(importer) ? { path: name, namespace: 'on-first-use' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'on-first-use' }, ({ path: name }) => ({
      contents: `let lib; const load = () => (lib ??= require(${JSON.stringify(name)}));
module.exports = new Proxy({}, { get: (_target, key) => load()[key], has: (_target, key) => key in load() });`,
      resolveDir: process.cwd(),
      loader: 'js',
    }));
  },
};

/**
 * iconv-lite's code pages for Chinese, Japanese and Korean (half a megabyte once bundled) are
 * required when such a charset is first decoded, which the bot never asks for. Read from
 * node_modules then, instead of being parsed at every start.
 */
const tablesOnFirstUse = {
  name: 'tables-on-first-use',
  setup(build) {
    build.onResolve({ filter: /^\.\/tables\/[\w-]+\.json$/ }, ({ path: file, importer }) =>
      /[\\/]iconv-lite[\\/]encodings[\\/]/.test(importer) ? { path: `iconv-lite/encodings/${file.slice(2)}`, external: true } : undefined,
    );
  },
};

// Chunks are named by their content: those of an earlier build would pile up.
fs.rmSync(path.join(values.outdir, 'chunks'), { recursive: true, force: true });
await esbuild.build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // pg-native: node-postgres's optional native binding, which this bot does not use.
  external: ['better-sqlite3', 'pg-native'],
  // Libraries written as CommonJS call require(); an ES module has none of its own.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  // Less to read and parse at start; names stay, for stack traces and logs.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // What is loaded with import() (gitbeaker's API classes) goes to chunks read at first use.
  splitting: true,
  outdir: values.outdir,
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [onFirstUse, tablesOnFirstUse],
  logLevel: 'warning',
});
