import { spawn } from 'node:child_process';
import fs from 'node:fs';
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
