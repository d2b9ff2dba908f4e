import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Recorder } from '../../src/fakes/recorder.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One pino JSON line the bot wrote on stdout. */
export type LogLine = Record<string, unknown> & { msg?: string; time?: number; level?: number };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `Date.now()` when the process was seen to exit. */
  at: number;
}

/** The bot running as its own process, as `node --import tsx src/main.ts` (or another entry) from the repository root. */
export interface BotProcess {
  child: ChildProcess;
  /** Base URL it serves on (127.0.0.1 and the port it logged). */
  url: string;
  logs: Recorder<LogLine>;
  exited: Promise<Exit>;
  stderr(): string;
}

/**
 * Starts and tracks bot processes so a test can kill -9 them, and `killAll` in afterEach
 * leaves none behind whatever the test did.
 */
export class BotProcesses {
  readonly #running = new Set<ChildProcess>();

  /** `args`: what node runs, the TypeScript source unless a test runs a build of it. */
  async start(env: Record<string, string>, timeoutMs = 20_000, args = ['--import', 'tsx', 'src/main.ts']): Promise<BotProcess> {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#running.add(child);
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#running.delete(child);
        resolve({ code, signal, at: Date.now() });
      });
    });
    const logs = new Recorder<LogLine>();
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    });
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    const serving = logs.waitFor((l) => l.msg === 'gitlab-approval-bot is serving', 1, timeoutMs).then(([line]) => line!);
    const early = exited.then((exit) => {
      throw new Error(`the bot exited before serving (${exit.code ?? exit.signal}): ${errors}`);
    });
    const line = await Promise.race([serving, early]);
    void early.catch(() => undefined);
    return { child, url: `http://127.0.0.1:${String(line.port)}`, logs, exited, stderr: () => errors };
  }

  /** SIGKILL for every bot still running; waits until they are gone. */
  async killAll(): Promise<void> {
    await Promise.all(
      [...this.#running].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    this.#running.clear();
  }
}
