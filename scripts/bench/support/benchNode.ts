/**
 * Shared plumbing of the node benchmarks (import, release, share): a real Carekey node started the way the tests
 * start it (embedded anvil, on-disk PGlite, blob store, HTTP API on a free loopback port), wallets made in process
 * with the CLI's own code, option parsing and the machine's load. Not a benchmark itself (bench.ts only runs the
 * `.ts` files directly in scripts/bench/).
 */
import '@carekey/sdk/crypto/node';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createNodeClient } from '@carekey/sdk/client';
import { generateMnemonic, newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import { privateKeyToAccount } from 'viem/accounts';
import type { Session } from '../../../packages/cli/src/commands/openSession.ts';
import { publishKey } from '../../../packages/cli/src/commands/publishKey.ts';
import { carekeyHome } from '../../../packages/cli/src/home/carekeyHome.ts';
import { RecordStore } from '../../../packages/cli/src/home/recordStore.ts';
import { readWalletPublic, saveNewWallet, unlockWallet } from '../../../packages/cli/src/home/walletStore.ts';
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
  /** `postgres` (a PostgreSQL server, `--pg`) or `pglite` (embedded, the default). */
  database: 'postgres' | 'pglite';
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
      database: server === undefined ? 'pglite' : 'postgres',
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
