import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type StartPostgresServerParameters = {
  /** Folder of `initdb` and `postgres` (default `CAREKEY_PG_BIN` or `/usr/lib/postgresql/15/bin`). */
  binDir?: string | undefined;
};

/** A throwaway PostgreSQL server on 127.0.0.1, for tests. */
export type PostgresServer = {
  port: number;
  /** Superuser `carekey` with a random password (scram-sha-256 over TCP). */
  user: string;
  password: string;
  /** URL of database `name` (default `postgres`). */
  url(name?: string): string;
  /** Creates an empty database and returns its URL (one per test keeps tests apart). */
  createDatabase(): Promise<string>;
  /** Fast shutdown, then removes the folder. Idempotent. */
  stop(): Promise<void>;
};

export type StartPostgresServerReturnType = PostgresServer;

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';

/**
 * Starts a real PostgreSQL server for the test suite: `initdb` in a fresh temp
 * folder, `postgres` on a free loopback port (and a unix socket in that folder),
 * password authentication over TCP. PostgreSQL refuses to run as root, so when
 * the tests run as root the server runs as the `postgres` system user (`runuser`).
 *
 * Never skips: missing binaries or a missing `postgres` user fail with a
 * message saying what to install.
 *
 * @example
 * const server = await startPostgresServer();
 * const sql = await createPostgresSql({ url: await server.createDatabase() });
 */
export async function startPostgresServer(
  parameters: StartPostgresServerParameters = {},
): Promise<StartPostgresServerReturnType> {
  const binDir = parameters.binDir ?? process.env.CAREKEY_PG_BIN ?? DEFAULT_BIN;
  for (const tool of ['initdb', 'postgres']) {
    if (!existsSync(join(binDir, tool)))
      throw new Error(
        `PostgreSQL test server: '${join(binDir, tool)}' not found. Install the server (Debian: apt-get install postgresql-15) or set CAREKEY_PG_BIN to the folder of initdb and postgres.`,
      );
  }
  const asRoot = process.getuid?.() === 0;
  let runAs: string[] = [];
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    let uid: number;
    let gid: number;
    try {
      uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    } catch {
      throw new Error(
        "PostgreSQL test server: running as root, and there is no 'postgres' user to run the server as (PostgreSQL refuses root). Install postgresql-15 (it creates the user) or run the tests as a normal user.",
      );
    }
    runAs = ['runuser', '-u', 'postgres', '--'];
    owner = { uid, gid };
  }
  const dir = mkdtempSync(join(tmpdir(), 'carekey-pg-'));
  const dataDir = join(dir, 'data');
  const user = 'carekey';
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`);
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  chmodSync(pwfile, 0o600);
  const command = (tool: string, args: string[]): [string, string[]] => {
    const full = [...runAs, join(binDir, tool), ...args];
    return [full[0] as string, full.slice(1)];
  };
  try {
    const [cmd, args] = command('initdb', [
      '-D',
      dataDir,
      '-U',
      user,
      '--pwfile',
      pwfile,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (cause) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (cause as { stderr?: Buffer }).stderr?.toString() ?? String(cause);
    throw new Error(`PostgreSQL test server: initdb failed: ${stderr.trim()}`);
  }

  const port = await freePort();
  const [cmd, args] = command('postgres', [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=100',
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const url = (name = 'postgres') =>
    `postgres://${user}:${password}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (alive) {
        // SIGINT = "fast shutdown" for the postmaster; runuser passes it on.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive) {
      await stop();
      throw new Error(`PostgreSQL test server: postgres exited at start:\n${log}`);
    }
    const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`PostgreSQL test server: no answer on port ${port} after 30 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  let databases = 0;
  const createDatabase = async () => {
    const name = `carekey_test_${process.pid}_${++databases}`;
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      await client.query(`create database ${name}`);
    } finally {
      await client.end();
    }
    return url(name);
  };
  return { port, user, password, url, createDatabase, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
