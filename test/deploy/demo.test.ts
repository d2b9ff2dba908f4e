import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './support.js';

/*
 * The image sets DATABASE_PATH=/data/approvals.db. Someone trying `npm run demo` (or
 * dist/demo/main.js) in a pod of the real deployment must not touch that database.
 */
describe('npm run demo', () => {
  let dir: string;
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs on a database of its own in a fresh temp folder, leaves DATABASE_PATH alone, and removes its own at the end', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-production-'));
    const production = path.join(dir, 'approvals.db');
    for (const suffix of ['', '-wal', '-shm']) fs.writeFileSync(`${production}${suffix}`, `the real decisions${suffix}`);

    const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', PORT: '0', DATABASE_PATH: production, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          // The banner ends with an empty line.
          if (out.includes('Web list:') && out.endsWith('\n\n')) resolve();
        });
        void exited.then((code) => reject(new Error(`the demo exited (${code}) before it was ready:\n${out}\n${errors}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    expect(out).toMatch(/Web list: +http:\/\/localhost:\d+\//);
    expect(out).toContain('Sign in as:  demo / demo-password');
    for (const suffix of ['', '-wal', '-shm']) expect(fs.readFileSync(`${production}${suffix}`, 'utf8')).toBe(`the real decisions${suffix}`);
    const own = /Database: +(\S+)/.exec(out)?.[1] as string;
    expect(path.dirname(path.dirname(own))).toBe(os.tmpdir());
    expect(fs.existsSync(path.dirname(own)), 'the demo folder is removed when the demo stops').toBe(false);
  }, 60_000);
});

interface RunningDemo {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  slackView: string;
  bot: string;
}

/** Starts a command that runs the demo; resolves once its banner is out. */
async function startDemo(command: string, args: string[]): Promise<RunningDemo> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('Database:') && out.endsWith('\n\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`the demo exited (${code}) before it was ready:\n${out}\n${errors}`)));
  });
  const slackView = /Slack view: +(http:\/\/localhost:\d+\/)/.exec(out)?.[1];
  const bot = /demo:send -- (http:\/\/localhost:\d+)/.exec(out)?.[1];
  if (!slackView || !bot) throw new Error(`the banner names no Slack view or send command:\n${out}`);
  return { child, out: () => out, exited, slackView, bot };
}

/** Waits for a condition, polling, up to a bound. */
async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => (parents.get(p) ?? []).forEach((c) => (found.push(c), walk(c)));
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The form fields of the first button with this label on the Slack view. */
function buttonForm(page: string, label: 'Approve' | 'Reject'): URLSearchParams {
  const form = new RegExp(`<form method="post" action="act"[^>]*>((?:(?!</form>)[\\s\\S])*?)<button type="submit" class="[a-z]+">${label}</button>`).exec(page)?.[1];
  if (!form) throw new Error(`no ${label} button on the Slack view`);
  const fields = new URLSearchParams();
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) fields.set(name!, value!);
  return fields;
}

describe('the demo’s Slack view', () => {
  let demo: RunningDemo | null = null;
  afterEach(async () => {
    if (demo && demo.child.exitCode === null) {
      demo.child.kill('SIGTERM');
      await demo.exited;
    }
    demo = null;
  });

  it('draws the card the stand-in Slack received, and its Approve button reaches the stand-in GitLab', async () => {
    demo = await startDemo(process.execPath, ['--import', 'tsx', 'src/demo/main.ts']);
    const res = await fetch(demo.slackView);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(page).toContain('Approval needed');
    expect(page).toContain('acme/payments-api!128');

    const click = await fetch(new URL('act', demo.slackView), { method: 'POST', body: buttonForm(page, 'Approve'), redirect: 'manual' });
    expect(click.status).toBe(303);
    await eventually('the stand-in GitLab received the approval', () => /GitLab received POST \/api\/v4\/projects\/42\/merge_requests\/128\/status_check_responses .*"status":"passed"/.test(demo!.out()));
    await eventually('the card says it was reported', async () => (await (await fetch(demo!.slackView)).text()).includes('Reported to GitLab'));
    const after = await (await fetch(demo.slackView)).text();
    expect(after).toContain('(edited)');
    // The author hears of it in their direct messages.
    expect(after).toMatch(/Your merge request .*acme\/payments-api!128.* was <b>approved<\/b>/);

    // A forged click without the page's token is refused.
    const forged = buttonForm(page, 'Approve');
    forged.set('csrf', 'not-the-token');
    expect((await fetch(new URL('act', demo.slackView), { method: 'POST', body: forged })).status).toBe(403);
  }, 90_000);

  it('the printed send command brings another check, whose card appears with its buttons', async () => {
    demo = await startDemo(process.execPath, ['--import', 'tsx', 'src/demo/main.ts']);
    const send = spawn(process.execPath, ['--import', 'tsx', 'src/demo/send.ts', demo.bot], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    send.stdout.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    expect(await new Promise((resolve) => send.once('exit', resolve))).toBe(0);
    expect(said).toMatch(/Sent merge request !\d+: HTTP 202/);
    await eventually('a second card is on the Slack view', async () => ((await (await fetch(demo!.slackView)).text()).match(/Approval needed/g) ?? []).length === 2);
  }, 90_000);

  it('SIGTERM to npm stops the bot: its port closes and no process stays behind', async () => {
    demo = await startDemo('npm', ['run', 'demo']);
    const port = Number(new URL(demo.bot).port);
    expect(await refused(port)).toBe(false);
    const below = descendants(demo.child.pid!);
    expect(below.length).toBeGreaterThan(0);

    demo.child.kill('SIGTERM');
    await demo.exited;
    await eventually('the bot’s port is closed', () => refused(port));
    await eventually('every process the demo started is gone', () => below.every((pid) => !alive(pid)), 15_000);
  }, 180_000);
});

describe('npm run demo on a port that is taken', () => {
  let dir: string;
  let holder: net.Server | null = null;
  afterEach(async () => {
    await new Promise((resolve) => (holder ? holder.close(resolve) : resolve(undefined)));
    holder = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says which port is taken and how to choose another, and leaves no demo folder behind', async () => {
    // A temp folder of its own, so another demo running on this machine cannot be mistaken for a leftover.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-taken-'));
    holder = net.createServer();
    await new Promise<void>((resolve) => holder!.listen(0, resolve));
    const port = (holder.address() as net.AddressInfo).port;

    const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), TMPDIR: dir, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(1);
    expect(errors).toContain(`port ${port} is already in use`);
    expect(errors).toMatch(/PORT=\d+ npm run demo/);
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('approval-bot-demo-')), 'the demo removes its folder when it cannot start').toEqual([]);
  }, 60_000);
});
