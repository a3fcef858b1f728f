/**
 * Shared plumbing of the node benchmarks (import, release, share): a real Carekey node started the way the tests
 * start it (embedded anvil, on-disk PGlite, blob store, HTTP API on a free loopback port), wallets made in process
 * with the CLI's own code, option parsing and the machine's load. Not a benchmark itself (bench.ts only runs the
 * `.ts` files directly in scripts/bench/).
 */
import '@carekey/sdk/crypto/node';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createNodeClient } from '@carekey/sdk/client';
import { generateMnemonic, newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import { privateKeyToAccount } from 'viem/accounts';
import type { Session } from '../../../packages/cli/src/commands/openSession.ts';
import { publishKey } from '../../../packages/cli/src/commands/publishKey.ts';
import { carekeyHome } from '../../../packages/cli/src/home/carekeyHome.ts';
import { RecordStore } from '../../../packages/cli/src/home/recordStore.ts';
import { readWalletPublic, saveNewWallet, unlockWallet } from '../../../packages/cli/src/home/walletStore.ts';
import { pgliteWorkerOf } from '../../../packages/node/src/db/createPgliteWorkerSql.ts';
import {
  type PostgresServer,
  startPostgresServer,
} from '../../../packages/node/src/db/testing/startPostgresServer.ts';
import type { CarekeyNode } from '../../../packages/node/src/startNode.ts';
import { startTempNode, type TempNode } from '../../../packages/node/src/testing/startTempNode.ts';

const args = process.argv.slice(2);

/** The path of the smallest Synthea patient bundle in ../shared/data (the release benches import just one). */
export function smallestSyntheaBundle(): string {
  const bundles = join(import.meta.dirname, '../../../../shared/data/synthea/bundles');
  const smallest = readdirSync(bundles)
    .filter((f) => f.endsWith('.json'))
    .sort((a, b) => statSync(join(bundles, a)).size - statSync(join(bundles, b)).size)[0];
  if (smallest === undefined) throw new Error(`no Synthea bundle in ${bundles}`);
  return join(bundles, smallest);
}

/** `--name value` from the command line, or `fallback`. */
export function option(name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? (args[at + 1] ?? fallback) : fallback;
}

/** Every `--name value` given (repeatable flags). */
export function options(name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++)
    if (args[i] === `--${name}` && args[i + 1]) values.push(args[i + 1] as string);
  return values;
}

/** `1.0 GiB`, `1.0 KiB`… */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const)
    if (bytes >= size) return `${(bytes / size).toFixed(bytes % size === 0 ? 0 : 1)} ${unit}`;
  return `${bytes} B`;
}

/** One line on how busy the machine was: these are shared 2-core machines. */
export function machineLine(): string {
  const [one, five] = loadavg();
  return `load average ${(one ?? 0).toFixed(1)} (1 min), ${(five ?? 0).toFixed(1)} (5 min) on ${availableParallelism()} cores`;
}

/**
 * Environment the node under test is started with. Per-identity rate limiting (T-24) would throttle a load test
 * from one grantee: pass its switch with `--node-env NAME=VALUE` (repeatable), e.g.
 * `--node-env CAREKEY_RATE_LIMIT=off`; each pair is set in this process before the node starts.
 */
export function applyNodeEnv(): Record<string, string> {
  const applied: Record<string, string> = {};
  for (const pair of options('node-env')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--node-env: expected NAME=VALUE, got "${pair}"`);
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    process.env[name] = value;
    applied[name] = value;
  }
  return applied;
}

export type BenchNode = TempNode & {
  /**
   * `postgres` (a PostgreSQL server, `--pg`), `pglite-worker` (embedded, in a worker thread: the node's default) or
   * `pglite` (embedded, on the node's thread: `--node-env CAREKEY_PGLITE_WORKER=0`).
   */
  database: 'postgres' | 'pglite' | 'pglite-worker';
};

/**
 * A real node in a temp folder (`startTempNode`, as the CLI tests start it), quiet, on free ports. With `--pg` on
 * the command line, its store is a throwaway PostgreSQL 15 server (`startPostgresServer`, as the PostgreSQL tests
 * start one: `initdb` and `postgres` in a temp folder, its own processes) instead of the embedded PGlite; stopped
 * with the node.
 */
export async function startBenchNode(
  parameters: { blockTime?: number; maxBlobBytes?: number } = {},
): Promise<BenchNode> {
  applyNodeEnv();
  const server: PostgresServer | undefined = args.includes('--pg') ? await startPostgresServer() : undefined;
  try {
    const temp = await startTempNode({
      prefix: 'carekey-bench-',
      chain: { blockTime: parameters.blockTime ?? 1 },
      api: parameters.maxBlobBytes ? { maxBlobBytes: parameters.maxBlobBytes } : {},
      onLoopError: () => {},
      indexerPollInterval: 250,
      ...(server === undefined ? {} : { databaseUrl: await server.createDatabase() }),
    });
    return {
      ...temp,
      database:
        server !== undefined ? 'postgres' : pgliteWorkerOf(temp.node.sql) ? 'pglite-worker' : 'pglite',
      async stop() {
        try {
          await temp.stop();
        } finally {
          await server?.stop();
        }
      },
    };
  } catch (error) {
    await server?.stop();
    throw error;
  }
}

/** A node running in its own process (`npm start`'s `packages/node/src/main.ts`), as a user runs it. */
export type BenchNodeProcess = {
  /** The API base URL. */
  url: string;
  /** The bench's temp folder (the node's data folder is `<dir>/node`); removed by `remove`. */
  dir: string;
  /** The node's data folder (`CAREKEY_DATA`). */
  dataDir: string;
  /** The PostgreSQL database of `--pg` (`CAREKEY_DATABASE_URL`), or undefined for the embedded PGlite. */
  databaseUrl: string | undefined;
  database: 'postgres' | 'pglite';
  pid: number;
  /** CPU seconds the node process has used so far, all its threads (Linux `/proc/<pid>/stat`; NaN elsewhere). */
  cpuSeconds(): number;
  /** The node's request log (one stderr line per request: method, route, status, ms), with when each arrived. */
  requests: { method: string; route: string; status: number; ms: number; at: number }[];
  /**
   * Stops the node as Ctrl-C does (SIGTERM: API, database and chain closed, chain state saved) and waits for its
   * exit; returns its stage log (`CAREKEY_STAGE_LOG`, packages/node/src/stageLog.ts) when `stages` was asked for.
   * The data folder stays (`remove`).
   */
  stop(): Promise<Record<string, number[]> | undefined>;
  /** Stops the node if it still runs, the `--pg` server, and removes the temp folder. */
  remove(): Promise<void>;
};

const repoRoot = join(import.meta.dirname, '../../..');
let clockTicks: number | undefined;

/** CPU seconds (user + system, all threads) of a Linux process so far; NaN where /proc is missing. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    // Fields 14 and 15 of proc(5) (utime, stime), counted from field 3 (state) here.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/**
 * Starts a real node **in its own process**, the way `npm start` runs it (`node --import tsx
 * packages/node/src/main.ts --json`: embedded anvil, on-disk PGlite in `<data>/pg`, blob store, HTTP API, the
 * request log on stderr), in a fresh temp folder on free ports, and resolves once it printed where it listens.
 * `--pg` on the command line gives it a throwaway PostgreSQL 15 server instead (`CAREKEY_DATABASE_URL`);
 * `--node-env NAME=VALUE` is passed to its environment. `prepare` runs on the data folder (and database) before the
 * node starts (e.g. a baseline into the fresh store). `stages` sets `CAREKEY_STAGE_LOG` (read back by `stop`);
 * `cpuProfileDir` runs it under `--cpu-prof`.
 */
export async function spawnBenchNode(
  parameters: {
    stages?: boolean;
    cpuProfileDir?: string | undefined;
    prepare?: (store: { dataDir: string; databaseUrl: string | undefined }) => Promise<void>;
  } = {},
): Promise<BenchNodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'carekey-bench-'));
  const dataDir = join(dir, 'node');
  const stageFile = join(dir, 'stages.json');
  let server: PostgresServer | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<void> | undefined;
  const stop = async () => {
    if (child === undefined || exited === undefined) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    child = undefined;
  };
  const remove = async () => {
    try {
      await stop();
    } finally {
      try {
        await server?.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  };
  try {
    server = args.includes('--pg') ? await startPostgresServer() : undefined;
    const databaseUrl = server === undefined ? undefined : await server.createDatabase();
    await parameters.prepare?.({ dataDir, databaseUrl });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CAREKEY_DATA: dataDir,
      CAREKEY_PORT: '0',
      CAREKEY_CHAIN_PORT: '0',
      ...(databaseUrl === undefined ? {} : { CAREKEY_DATABASE_URL: databaseUrl }),
      ...(parameters.stages ? { CAREKEY_STAGE_LOG: stageFile } : {}),
    };
    for (const pair of options('node-env')) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--node-env: expected NAME=VALUE, got "${pair}"`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    const started = spawn(
      process.execPath,
      [
        ...(parameters.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${parameters.cpuProfileDir}`] : []),
        '--import',
        'tsx',
        join(repoRoot, 'packages/node/src/main.ts'),
        '--json',
      ],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const requests: BenchNodeProcess['requests'] = [];
    const tail: string[] = [];
    createInterface({ input: started.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { event?: string } & BenchNodeProcess['requests'][number];
        if (entry.event === 'request') {
          requests.push({ ...entry, at: Date.now() });
          return;
        }
      } catch {}
      tail.push(line);
      if (tail.length > 40) tail.shift();
    });
    const summary = await new Promise<{ api: { url: string } }>((resolve, reject) => {
      createInterface({ input: started.stdout as NodeJS.ReadableStream }).once('line', (line) => {
        try {
          resolve(JSON.parse(line) as { api: { url: string } });
        } catch (error) {
          reject(error);
        }
      });
      started.once('exit', (code, signal) =>
        reject(
          new Error(
            `the node exited (code ${code}, signal ${signal}) before it was ready:\n${tail.join('\n')}`,
          ),
        ),
      );
    });
    const pid = started.pid as number;
    return {
      url: summary.api.url,
      dir,
      dataDir,
      databaseUrl,
      database: server === undefined ? 'pglite' : 'postgres',
      pid,
      cpuSeconds: () => processCpuSeconds(pid),
      requests,
      async stop() {
        await stop();
        if (!parameters.stages) return undefined;
        return JSON.parse(readFileSync(stageFile, 'utf8')) as Record<string, number[]>;
      },
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

const PASSPHRASE = 'benchmark passphrase';

/**
 * A wallet made with the CLI's own code (`carekey init`: wallet file, X25519 key published on the DID through the
 * node) in `<dir>/<who>`, unlocked as a CLI session against `url`. In process, so the CLI's flows can be timed
 * without Node start-up; the passphrase is never read from a terminal.
 */
export async function newSession(dir: string, who: string, url: string): Promise<Session> {
  const env = { CAREKEY_HOME: join(dir, who), CAREKEY_NODE: url };
  Object.assign(process.env, env);
  const home = carekeyHome(env);
  const secrets = newWalletSecrets({ mnemonic: generateMnemonic() });
  await saveNewWallet({ home, secrets, passphrase: PASSPHRASE, logN: 15 });
  const fresh = walletKeys(secrets);
  const published = await publishKey(home, privateKeyToAccount(fresh.privateKey), fresh.recipient);
  if (!published.published)
    throw new Error(`cannot publish ${who}'s encryption key: ${JSON.stringify(published)}`);
  const keys = await unlockWallet(home, PASSPHRASE);
  const account = privateKeyToAccount(keys.privateKey);
  return {
    home,
    facts: await readWalletPublic(home),
    keys,
    account,
    node: createNodeClient({ url, account }),
    store: new RecordStore(home, keys.recipient),
  };
}

/** Polls `check` until it holds; fails with `what` after `ms`. */
export async function until(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Resolves when no outbox write of the node is pending or in flight; returns the failed ones (kind and error), which
 * `strict` (default) turns into an error.
 */
export async function outboxSettled(
  node: CarekeyNode,
  strict = true,
): Promise<{ kind: string; last_error: string | null }[]> {
  await until('the outbox to settle', async () => {
    const { rows } = await node.sql.query<{ n: bigint }>(
      `select count(*) as n from outbox where status in ('pending', 'submitted')`,
    );
    return rows[0]?.n === 0n;
  });
  const { rows } = await node.sql.query<{ kind: string; last_error: string | null }>(
    `select kind, last_error from outbox where status = 'failed'`,
  );
  if (strict && rows.length > 0)
    throw new Error(`${rows.length} outbox writes failed: ${JSON.stringify(rows)}`);
  return rows;
}

/** Seconds since `start` (a `performance.now()`). */
export const since = (start: number): number => (performance.now() - start) / 1000;

/** The `q`-quantile (0…1) of sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Prints rows as a fixed-width table (first column left-aligned, the rest right-aligned). */
export function printTable(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
