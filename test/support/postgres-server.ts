import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openStore } from '../../src/store/store.js';

/**
 * One throwaway PostgreSQL server for the whole test run (vitest's globalSetup): initdb into a
 * fresh temporary directory, listen on 127.0.0.1 only, and remove it all at the end. Test files
 * reach it through test/support/postgres.ts.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres:// URL of the run's server as its superuser, or null when none runs. */
    postgresAdminUrl: string | null;
  }
}

const INSTALL_HINT = 'install it with `apt-get install postgresql` (Debian; the suite starts its own server, no service needs to run)';

export interface PostgresServer {
  adminUrl: string;
  /** The server's own account (never root) and where it keeps its data. */
  user: string;
  dir: string;
  /** Stops the server, cutting every connection, and keeps its data: `resume` starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** Why no server can run on this machine, or the commands to run one. */
type Binaries = { bin: string } | { missing: string };

/** Debian keeps the server's programs in /usr/lib/postgresql/<major>/bin (newest first), others on PATH. */
export function findBinaries(): Binaries {
  const hasServer = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((name) => isExecutable(path.join(dir, name)));
  const debian = '/usr/lib/postgresql';
  const majors = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const major of majors) {
    const dir = path.join(debian, major, 'bin');
    if (hasServer(dir)) return { bin: dir };
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    if (isExecutable(path.join(dir, 'initdb'))) {
      // /usr/local/bin/initdb may be a link into the real bin directory, beside pg_ctl and postgres.
      const real = path.dirname(fs.realpathSync(path.join(dir, 'initdb')));
      if (hasServer(real)) return { bin: real };
    }
  }
  return { missing: `PostgreSQL's server is not installed (no initdb in ${debian}/<major>/bin or on PATH)` };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** initdb refuses to run as root: as root, the server runs as Debian's `postgres` account. */
function serverAccount(): { name: string; uid: number; gid: number; asRoot: boolean } | { missing: string } {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { name: os.userInfo().username, uid, gid: process.getgid?.() ?? -1, asRoot: false };
  const entry = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) return { missing: 'the tests run as root, PostgreSQL refuses to, and there is no `postgres` account to run it as (create one, or run the tests as another user)' };
  return { name: 'postgres', uid: Number(entry[2]), gid: Number(entry[3]), asRoot: true };
}

/** A port free on 127.0.0.1 right now; start() tries another if it is taken before the server binds it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The command as the server's account: as root, through runuser. */
function asAccount(command: string[], account: { name: string; asRoot: boolean }): [string, string[]] {
  const full = account.asRoot ? ['runuser', '-u', account.name, '--', ...command] : command;
  return [full[0] as string, full.slice(1)];
}

function run(command: string[], account: { name: string; asRoot: boolean }, cwd: string): Promise<{ code: number | null; output: string }> {
  const [program, args] = asAccount(command, account);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Starts a server, or says why none can run here (binaries missing, or root without a `postgres` account). */
export async function startPostgres(): Promise<PostgresServer | { missing: string }> {
  const binaries = findBinaries();
  if ('missing' in binaries) return binaries;
  const account = serverAccount();
  if ('missing' in account) return account;
  const tool = (name: string) => path.join(binaries.bin, name);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approval-bot-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  // Immediate: nothing in the cluster is worth a clean shutdown.
  const stop = [tool('pg_ctl'), 'stop', '--pgdata', data, '--mode', 'immediate', '--wait'];
  try {
    if (account.asRoot) fs.chownSync(dir, account.uid, account.gid);
    const init = await run(
      [tool('initdb'), '--pgdata', data, '--username', 'postgres', '--encoding', 'UTF8', '--no-locale', '--auth', 'trust'],
      account,
      dir,
    );
    if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code}):\n${init.output}`);
    // Trust, but only for the socket in this private directory and for 127.0.0.1: nothing else may connect.
    fs.writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    fs.appendFileSync(
      path.join(data, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        // The data is thrown away at the end of the run: durability only costs time here.
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );

    // Another process may take the free port before the server binds it: try a few.
    for (let attempt = 1; ; attempt += 1) {
      fs.rmSync(log, { force: true });
      const port = await freePort();
      const started = await run([tool('pg_ctl'), 'start', '--pgdata', data, '--log', log, '--wait', '--timeout', '120', '--options', `-p ${port}`], account, dir);
      if (started.code === 0) {
        // Should the test run die without its teardown, the server must not outlive it.
        const onExit = () => {
          spawnSync(...asAccount(stop, account), { cwd: dir, stdio: 'ignore' });
          remove();
        };
        process.once('exit', onExit);
        return {
          adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
          user: account.name,
          dir,
          async halt() {
            // Fast, not immediate: without fsync, a crash would lose committed rows.
            const halted = await run([tool('pg_ctl'), 'stop', '--pgdata', data, '--mode', 'fast', '--wait'], account, dir);
            if (halted.code !== 0) throw new Error(`pg_ctl stop failed (exit ${halted.code}):\n${halted.output}`);
          },
          async resume() {
            const again = await run([tool('pg_ctl'), 'start', '--pgdata', data, '--log', log, '--wait', '--timeout', '120', '--options', `-p ${port}`], account, dir);
            if (again.code !== 0) throw new Error(`PostgreSQL did not start again (pg_ctl exit ${again.code}):\n${again.output}`);
          },
          async stop() {
            process.off('exit', onExit);
            await run(stop, account, dir);
            remove();
          },
        };
      }
      const serverLog = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      if (attempt < 5 && /could not bind|Address already in use/i.test(serverLog)) continue;
      throw new Error(`PostgreSQL did not start (pg_ctl exit ${started.code}):\n${started.output}\n${serverLog.split('\n').slice(-20).join('\n')}`);
    }
  } catch (error) {
    // A server that came up after pg_ctl gave up waiting must not be left running.
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) await run(stop, account, dir);
    remove();
    throw error;
  }
}

let running: PostgresServer | null = null;

/** vitest globalSetup: one server for the run, or a clear word on why its tests are skipped. */
export async function setup(project: TestProject): Promise<void> {
  // Each vitest project runs this: they share the one server.
  if (running) {
    project.provide('postgresAdminUrl', running.adminUrl);
    return;
  }
  const required = process.env.REQUIRE_POSTGRES === '1';
  const server = await startPostgres();
  if ('missing' in server) {
    if (required) throw new Error(`REQUIRE_POSTGRES=1 but ${server.missing}: ${INSTALL_HINT}.`);
    process.stderr.write(`\nPostgreSQL tests are skipped: ${server.missing}. To run them, ${INSTALL_HINT}.\n\n`);
    project.provide('postgresAdminUrl', null);
    return;
  }
  running = server;
  await migrateTemplate(server.adminUrl);
  project.provide('postgresAdminUrl', server.adminUrl);
}

export async function teardown(): Promise<void> {
  await running?.stop();
  running = null;
}

/** The database the run migrates once, which freshPostgres({ schema: true }) copies. */
export const SCHEMA_TEMPLATE = 'bot_schema_template';

/** Creates that database, migrated by the bot's own store. */
async function migrateTemplate(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${SCHEMA_TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${SCHEMA_TEMPLATE}`;
  const store = await openStore(url.toString());
  await store.close();
}
