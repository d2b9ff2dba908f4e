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
 * Socket Mode's WebSocket client library (undici, a megabyte of code) is read from
 * node_modules when Socket Mode first uses it rather than parsed and run at every start:
 * Bolt loads Socket Mode even for bots that take Slack's events over HTTP. Only Socket Mode's
 * own `require('undici')` is deferred, and it reads undici's exports by name only, which is
 * all the stand-in object it gets has to forward.
 */
const undiciOnFirstUse = {
  name: 'undici-on-first-use',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, ({ importer, namespace }) => {
      // The stand-in's own require: undici itself, from node_modules, outside the bundle.
      if (namespace === 'on-first-use') return { path: 'undici', external: true };
      return /[\\/]@slack[\\/]socket-mode[\\/]/.test(importer) ? { path: 'undici', namespace: 'on-first-use' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'on-first-use' }, () => ({
      contents: `let undici; const load = () => (undici ??= require('undici'));
module.exports = new Proxy({}, { get: (_target, name) => load()[name], has: (_target, name) => name in load() });`,
      resolveDir: process.cwd(),
      loader: 'js',
    }));
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
  external: ['better-sqlite3'],
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
  plugins: [undiciOnFirstUse],
  logLevel: 'warning',
});
