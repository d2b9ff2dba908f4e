import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../deploy/support.js';

/*
 * The demo runs from dist/ wherever the project is built: from what the image's build stage
 * gets (package files, tsconfig and src/, never test/). So it is built here from just those,
 * into a folder with no test/ beside it, and run from there: a sample or a Slack payload read
 * from test/ would stop it.
 */
const run = promisify(execFile);

/** Waits for a condition, polling, up to a bound. */
async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The form fields of the first button with this label on the Slack view. */
function buttonForm(page: string, label: 'Approve' | 'Reject'): URLSearchParams {
  const form = new RegExp(`<form method="post" action="act"[^>]*>((?:(?!</form>)[\\s\\S])*?)<button type="submit" class="[a-z]+">${label}</button>`).exec(page)?.[1];
  if (!form) throw new Error(`no ${label} button on the Slack view`);
  const fields = new URLSearchParams();
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) fields.set(name!, value!);
  return fields;
}

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('the demo built without test/', () => {
  let dir: string;
  let demo: ChildProcess | null = null;
  let exited: Promise<number | null>;
  let out = '';
  let errors = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-built-demo-'));
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) fs.copyFileSync(path.join(repoRoot, file), path.join(dir, file));
    fs.cpSync(path.join(repoRoot, 'src'), path.join(dir, 'src'), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    // `npm run build`, without npm: the compiler the project pins. Without comments, so that
    // what is looked for below in the code is not found in a comment naming the tests' fixtures.
    await run(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--removeComments'], { cwd: dir });
    expect(fs.existsSync(path.join(dir, 'test'))).toBe(false);

    demo = spawn(process.execPath, ['dist/demo/main.js'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    exited = new Promise((resolve) => demo!.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      demo!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('Database:') && out.endsWith('\n\n')) resolve();
      });
      void exited.then((code) => reject(new Error(`the built demo exited (${code}) before it was ready:\n${out}\n${errors}`)));
    });
  }, 300_000);

  afterAll(async () => {
    if (demo && demo.exitCode === null) {
      demo.kill('SIGTERM');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ships its sample check and the recorded Slack payloads in dist/, and refers to nothing under test/', () => {
    const built = filesBelow(path.join(dir, 'dist'));
    expect(built).toContain(path.join('demo', 'sample-status-check.json'));
    expect(built).toEqual(expect.arrayContaining(['block-actions.json', 'view-submission.json', 'app-home-opened.json'].map((f) => path.join('fakes', 'slack-payloads', f))));
    for (const file of built.filter((f) => f.endsWith('.js') && /^(demo|fakes)\//.test(f))) {
      // No path into test/ in a string: an import, a URL or a file name.
      expect(fs.readFileSync(path.join(dir, 'dist', file), 'utf8'), file).not.toMatch(/['"`][^'"`\n]*\btest\/[^'"`\n]*['"`]/);
    }
  });

  it('receives its own sample check at start, and a click on its Slack view reaches the stand-in GitLab', async () => {
    expect(out).toMatch(/A sample status check was received: HTTP 202/);
    const slackView = /Slack view: +(http:\/\/localhost:\d+\/)/.exec(out)?.[1];
    expect(slackView, out).toBeDefined();
    const page = await (await fetch(slackView!)).text();
    expect(page).toContain('acme/payments-api!128');

    // The click is built from the recorded block_actions payload, read from dist/.
    const click = await fetch(new URL('act', slackView), { method: 'POST', body: buttonForm(page, 'Approve'), redirect: 'manual' });
    expect(click.status).toBe(303);
    await eventually('the stand-in GitLab received the approval', () => /GitLab received POST \/api\/v4\/projects\/42\/merge_requests\/128\/status_check_responses .*"status":"passed"/.test(out));
  }, 60_000);

  it('demo:send sends another sample check from dist/ too', async () => {
    const bot = /demo:send -- (http:\/\/localhost:\d+)/.exec(out)?.[1];
    expect(bot, out).toBeDefined();
    const { stdout } = await run(process.execPath, ['dist/demo/send.js', bot!], { cwd: dir });
    expect(stdout).toMatch(/Sent merge request !\d+: HTTP 202/);
    expect(errors).toBe('');
  }, 60_000);
});
