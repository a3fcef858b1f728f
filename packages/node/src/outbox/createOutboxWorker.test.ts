import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  custom,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../chain/startAnvil.ts';
import { createPgliteSql } from '../db/createPgliteSql.ts';
import { migrate } from '../db/migrate.ts';
import { openSql } from '../db/openSql.ts';
import type { Sql, SqlEngine } from '../db/Sql.ts';
import {
  pgliteTemplate,
  SQL_ENGINES,
  stopTestPostgresServer,
  testPostgresServer,
} from '../db/testing/sqlEngines.ts';
import { createOutboxWorker, type OutboxWorker } from './createOutboxWorker.ts';
import { enqueueOutbox } from './enqueueOutbox.ts';
import { getOutboxEntry } from './getOutboxEntry.ts';
import { type CompiledContract, compileCounter } from './testing/counterContract.ts';
import type { OutboxWorkerProcessInput } from './testing/outboxWorkerProcess.ts';

/** anvil's well-known development keys: 0 deploys, the others relay. */
const DEPLOYER = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const RELAYERS: Record<SqlEngine, Hex> = {
  pglite: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  postgres: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
};
const WORKER_PROCESS = fileURLToPath(new URL('./testing/outboxWorkerProcess.ts', import.meta.url));

let counter: CompiledContract;
beforeAll(async () => {
  counter = compileCounter();
  await pgliteTemplate(true);
}, 180_000);
afterAll(stopTestPostgresServer);

type Store = { sql: Sql; dataDir: string; databaseUrl: string | undefined };

/** A migrated store that a child process can open too (a PGlite folder, or a server database). */
async function openStore(engine: SqlEngine): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carekey-outbox-'));
  const databaseUrl = engine === 'postgres' ? await (await testPostgresServer()).createDatabase() : undefined;
  if (databaseUrl === undefined) {
    // The folder openSql uses, filled from a migrated template (initdb per test would take seconds).
    const sql = await createPgliteSql({ dataDir: join(dataDir, 'pg'), from: await pgliteTemplate(true) });
    return { sql, dataDir, databaseUrl };
  }
  const sql = await openSql({ dataDir, databaseUrl });
  await migrate({ sql });
  return { sql, dataDir, databaseUrl };
}

async function deployCounter(rpcUrl: string): Promise<Address> {
  const wallet = createWalletClient({ account: privateKeyToAccount(DEPLOYER), transport: http(rpcUrl) });
  const reader = createPublicClient({ transport: http(rpcUrl) });
  const hash = await wallet.deployContract({ abi: counter.abi, bytecode: counter.bytecode, chain: null });
  const receipt = await reader.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (!receipt.contractAddress) throw new Error('Counter was not deployed');
  return receipt.contractAddress;
}

const key = (label: string) => keccak256(toHex(label));
const bump = (address: Address, label: string) => ({
  to: address,
  data: encodeFunctionData({ abi: counter.abi, functionName: 'bump', args: [key(label)] }),
});
const bumpBelow = (address: Address, label: string, limit: bigint) => ({
  to: address,
  data: encodeFunctionData({ abi: counter.abi, functionName: 'bumpBelow', args: [key(label), limit] }),
});
const bumpAt = (address: Address, label: string, expected: bigint) => ({
  to: address,
  data: encodeFunctionData({ abi: counter.abi, functionName: 'bumpAt', args: [key(label), expected] }),
});
const touch = (address: Address, label: string) => ({
  to: address,
  data: encodeFunctionData({ abi: counter.abi, functionName: 'touch', args: [key(label)] }),
});
const hits = (reader: PublicClient, address: Address, label: string) =>
  reader.readContract({
    address,
    abi: counter.abi as Abi,
    functionName: 'hits',
    args: [key(label)],
  }) as Promise<bigint>;
const count = (reader: PublicClient, address: Address) =>
  reader.readContract({ address, abi: counter.abi as Abi, functionName: 'count' }) as Promise<bigint>;

const statuses = async (sql: Sql) =>
  (
    await sql.query<{ idempotency_key: string; status: string }>(
      'select idempotency_key, status from outbox order by id',
    )
  ).rows.map((r) => `${r.idempotency_key}:${r.status}`);

type Written = { idempotency_key: string; status: string; nonce: bigint | null; last_error: string | null };
const written = async (sql: Sql) =>
  (
    await sql.query<Written>(
      'select idempotency_key, status, nonce, last_error, attempts from outbox order by id',
    )
  ).rows;

/**
 * Enqueues, in one go, writes that depend on each other (each `bumpAt` needs the one before it mined), one that
 * can never succeed (`bumpAt` far ahead) in the middle and independent ones (`touch`) after it; drains; checks
 * every dependent write landed once, in order, the impossible one failed for good and nothing else was held back.
 */
async function expectDependentWritesLand(
  sql: Sql,
  worker: OutboxWorker,
  reader: PublicClient,
  address: Address,
  prefix: string,
): Promise<void> {
  const start = await count(reader, address);
  const plan = [
    [`${prefix}-dep-0`, bumpAt(address, `${prefix}-dep-0`, start)],
    [`${prefix}-dep-1`, bumpAt(address, `${prefix}-dep-1`, start + 1n)],
    [`${prefix}-never`, bumpAt(address, `${prefix}-never`, start + 100n)],
    [`${prefix}-dep-2`, bumpAt(address, `${prefix}-dep-2`, start + 2n)],
    [`${prefix}-free`, touch(address, `${prefix}-free`)],
    [`${prefix}-dep-3`, bumpAt(address, `${prefix}-dep-3`, start + 3n)],
  ] as const;
  for (const [label, payload] of plan)
    await enqueueOutbox({ sql, kind: 'Counter.bumpAt', idempotencyKey: label, payload });
  await drain(worker, sql);
  const rows = await written(sql);
  const mine = rows.filter((r) => r.idempotency_key.startsWith(`${prefix}-`));
  expect(mine.map((r) => `${r.idempotency_key}:${r.status}`)).toEqual([
    `${prefix}-dep-0:confirmed`,
    `${prefix}-dep-1:confirmed`,
    `${prefix}-never:failed`,
    `${prefix}-dep-2:confirmed`,
    `${prefix}-free:confirmed`,
    `${prefix}-dep-3:confirmed`,
  ]);
  const never = mine.find((r) => r.idempotency_key === `${prefix}-never`);
  expect(never?.last_error).toMatch(
    new RegExp(`^Counter\\.bumpAt reverted with CounterNotAt\\(\\d+, ${start + 100n}\\)$`),
  );
  expect(never?.nonce).toBeNull(); // refused at estimation: never signed, never sent
  // In order: the relayer's transaction nonces follow the dependency order.
  const nonces = ['dep-0', 'dep-1', 'dep-2', 'dep-3'].map(
    (l) => mine.find((r) => r.idempotency_key === `${prefix}-${l}`)?.nonce ?? -1n,
  );
  expect([...nonces].sort((a, b) => (a < b ? -1 : 1))).toEqual(nonces);
  for (const label of ['dep-0', 'dep-1', 'dep-2', 'dep-3', 'free'])
    expect(await hits(reader, address, `${prefix}-${label}`)).toBe(1n);
  expect(await hits(reader, address, `${prefix}-never`)).toBe(0n);
  expect(await count(reader, address)).toBe(start + 4n);
  // Failed is final.
  await worker.tick();
  expect((await written(sql)).find((r) => r.idempotency_key === `${prefix}-never`)?.status).toBe('failed');
}

/** Ticks until nothing is pending or submitted. */
async function drain(worker: OutboxWorker, sql: Sql, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await worker.tick().catch(() => undefined);
    const { rows } = await sql.query(`select 1 from outbox where status in ('pending', 'submitted')`);
    if (rows.length === 0) return;
    if (Date.now() > deadline) throw new Error(`outbox not drained: ${(await statuses(sql)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function runWorkerProcess(
  input: OutboxWorkerProcessInput,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // `node --import tsx`, not the tsx binary: its wrapper would turn our SIGKILL into an exit code.
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS, JSON.stringify(input)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe.each(SQL_ENGINES)('outbox on %s (automining anvil)', (engine) => {
  let anvil: Anvil;
  let address: Address;
  let reader: PublicClient;
  const relayerKey = RELAYERS[engine];
  const relayer = () =>
    createWalletClient({ account: privateKeyToAccount(relayerKey), transport: http(anvil.rpcUrl) });

  beforeAll(async () => {
    anvil = await startAnvil({
      dataDir: mkdtempSync(join(tmpdir(), 'carekey-anvil-')),
      port: 0,
      blockTime: 0,
    });
    address = await deployCounter(anvil.rpcUrl);
    reader = createPublicClient({ transport: http(anvil.rpcUrl), cacheTime: 0 }) as PublicClient;
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it('F-9 sends each idempotency key once, however often it is enqueued, and nothing from a rolled-back transaction', async () => {
    const { sql } = await openStore(engine);
    try {
      const before = await count(reader, address);
      const first = await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: `${engine}-a`,
        payload: bump(address, `${engine}-a`),
      });
      expect(first.created).toBe(true);
      // The same key again, also from concurrent transactions: one entry.
      const again = await Promise.all(
        Array.from({ length: 5 }, () =>
          sql.transaction((tx) =>
            enqueueOutbox({
              sql: tx,
              kind: 'Counter.bump',
              idempotencyKey: `${engine}-a`,
              payload: bump(address, `${engine}-a`),
            }),
          ),
        ),
      );
      expect(again.map((r) => [r.created, r.entry.id])).toEqual(Array(5).fill([false, first.entry.id]));
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: `${engine}-b`,
        payload: bump(address, `${engine}-b`),
      });
      await sql
        .transaction(async (tx) => {
          await enqueueOutbox({
            sql: tx,
            kind: 'Counter.bump',
            idempotencyKey: `${engine}-c`,
            payload: bump(address, `${engine}-c`),
          });
          throw new Error('the state change failed');
        })
        .catch(() => undefined);
      // A key reused for a different write is a bug: refused.
      await expect(
        enqueueOutbox({
          sql,
          kind: 'Counter.bump',
          idempotencyKey: `${engine}-a`,
          payload: bump(address, 'other'),
        }),
      ).rejects.toThrow(/already used by a different write/);

      const worker = createOutboxWorker({ sql, client: relayer(), abi: counter.abi });
      await drain(worker, sql);
      // Enqueued again after it was sent: still one write.
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: `${engine}-a`,
        payload: bump(address, `${engine}-a`),
      });
      await drain(worker, sql);

      expect(await statuses(sql)).toEqual([`${engine}-a:confirmed`, `${engine}-b:confirmed`]);
      expect(await hits(reader, address, `${engine}-a`)).toBe(1n);
      expect(await hits(reader, address, `${engine}-b`)).toBe(1n);
      expect(await hits(reader, address, `${engine}-c`)).toBe(0n);
      expect((await count(reader, address)) - before).toBe(2n);
      const { rows } = await sql.query<{ tx_hash: Uint8Array; block_number: bigint; attempts: number }>(
        'select tx_hash, block_number, attempts from outbox',
      );
      for (const row of rows) {
        expect(row.tx_hash).toHaveLength(32);
        expect(row.block_number).toBeGreaterThan(0n);
        expect(row.attempts).toBe(1);
      }
    } finally {
      await sql.close();
    }
  });

  it('fails a write the contract refuses, for good, with the decoded custom error', async () => {
    const { sql } = await openStore(engine);
    try {
      const now = await count(reader, address);
      // Refused at gas estimation: nothing is sent.
      await enqueueOutbox({
        sql,
        kind: 'Counter.bumpBelow',
        idempotencyKey: 'refused',
        payload: bumpBelow(address, 'refused', now),
      });
      // Both pass estimation against the same state; the second reverts once mined.
      await enqueueOutbox({
        sql,
        kind: 'Counter.bumpBelow',
        idempotencyKey: 'fits',
        payload: bumpBelow(address, 'fits', now + 1n),
      });
      await enqueueOutbox({
        sql,
        kind: 'Counter.bumpBelow',
        idempotencyKey: 'late',
        payload: bumpBelow(address, 'late', now + 1n),
      });
      const worker = createOutboxWorker({ sql, client: relayer(), abi: counter.abi });
      await drain(worker, sql);
      const { rows } = await sql.query<{
        idempotency_key: string;
        status: string;
        last_error: string | null;
        attempts: number;
        tx_hash: Uint8Array | null;
      }>('select idempotency_key, status, last_error, attempts, tx_hash from outbox order by id');
      expect(rows.map((r) => [r.idempotency_key, r.status, r.attempts])).toEqual([
        ['refused', 'failed', 1],
        ['fits', 'confirmed', 1],
        ['late', 'failed', 1],
      ]);
      expect(rows[0]?.last_error).toBe(`Counter.bumpBelow reverted with CounterLimitReached(${now}, ${now})`);
      expect(rows[0]?.tx_hash).toBeNull();
      expect(rows[2]?.last_error).toBe(
        `Counter.bumpBelow reverted with CounterLimitReached(${now + 1n}, ${now + 1n})`,
      );
      expect(rows[2]?.tx_hash).toHaveLength(32);
      expect(await hits(reader, address, 'fits')).toBe(1n);
      expect(await count(reader, address)).toBe(now + 1n);
      // Failed is final: more ticks change nothing.
      await worker.tick();
      expect(await statuses(sql)).toEqual(['refused:failed', 'fits:confirmed', 'late:failed']);
    } finally {
      await sql.close();
    }
  });

  it('F-9 lands dependent writes of one pass, in order; a write that can never succeed fails once the earlier ones are mined, holding back nothing', async () => {
    const { sql } = await openStore(engine);
    try {
      const worker = createOutboxWorker({ sql, client: relayer(), abi: counter.abi });
      await expectDependentWritesLand(sql, worker, reader, address, `${engine}-pass`);
    } finally {
      await sql.close();
    }
  });

  /** The relayer's client, whose chain answers "no receipt" once for each hash put in `hide`. */
  const hidingReceipts = (hide: Set<Hex>) => {
    const rpc = createPublicClient({ transport: http(anvil.rpcUrl) });
    return createWalletClient({
      account: privateKeyToAccount(relayerKey),
      transport: custom({
        request: async ({ method, params }: { method: string; params?: unknown }) =>
          method === 'eth_getTransactionReceipt' && hide.delete((params as [Hex])[0])
            ? null
            : rpc.request({ method, params } as never),
      }),
    });
  };

  it('F-9 does not sign a mined write again while the chain shows its nonce used but not yet its receipt (anvil between a block’s state and its receipts)', async () => {
    const { sql } = await openStore(engine);
    try {
      const hide = new Set<Hex>();
      const worker = createOutboxWorker({ sql, client: hidingReceipts(hide), abi: counter.abi });
      const label = `${engine}-receipt-late`;
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: label,
        payload: bump(address, label),
      });
      expect((await worker.tick()).submitted).toHaveLength(1);
      const sent = await getOutboxEntry({ sql, idempotencyKey: label });
      const hash = sent?.txHash as Hex;
      await reader.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      // Mined, its nonce used; the next look at its receipt finds none, as in anvil's window.
      hide.add(hash);
      const looked = await worker.tick();
      expect(looked.retried).toEqual([]);
      expect(looked.waiting.map((e) => e.id)).toEqual([sent?.id]);
      await drain(worker, sql);
      expect(await getOutboxEntry({ sql, idempotencyKey: label })).toMatchObject({
        status: 'confirmed',
        attempts: 1,
        txHash: hash,
      });
      expect(await hits(reader, address, label)).toBe(1n);
    } finally {
      await sql.close();
    }
  });

  it('F-9 signs a write again once a later block shows its nonce taken by another transaction', async () => {
    const { sql } = await openStore(engine);
    try {
      const own = relayer();
      let taken = false;
      const worker = createOutboxWorker({
        sql,
        client: relayer(),
        abi: counter.abi,
        hooks: {
          // Before the worker broadcasts, another transaction of the relayer's account takes its nonce.
          afterRecord: async (entries) => {
            if (taken) return;
            taken = true;
            const hash = await own.sendTransaction({
              to: own.account.address,
              nonce: Number(entries[0]?.nonce),
              chain: null,
            });
            await reader.waitForTransactionReceipt({ hash, pollingInterval: 50 });
          },
        },
      });
      const label = `${engine}-nonce-taken`;
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: label,
        payload: bump(address, label),
      });
      await worker.tick();
      const first = await getOutboxEntry({ sql, idempotencyKey: label });
      expect((await worker.tick()).retried).toEqual([]); // no later block yet: maybe mined, being stored
      await reader.request({ method: 'evm_mine' } as never);
      expect((await worker.tick()).retried.map((e) => e.id)).toEqual([first?.id]);
      await drain(worker, sql);
      const last = await getOutboxEntry({ sql, idempotencyKey: label });
      expect(last).toMatchObject({ status: 'confirmed', attempts: 2 });
      expect(last?.txHash).not.toBe(first?.txHash);
      expect(await hits(reader, address, label)).toBe(1n);
    } finally {
      await sql.close();
    }
  });

  it('runs in the background: a woken worker sends a new entry, stop() ends the loop', async () => {
    const { sql } = await openStore(engine);
    const errors: unknown[] = [];
    const worker = createOutboxWorker({
      sql,
      client: relayer(),
      abi: counter.abi,
      pollIntervalMs: 60_000, // only wake() can make it look again quickly
      onError: (error) => errors.push(error),
    });
    try {
      worker.start();
      worker.start(); // idempotent
      await new Promise((r) => setTimeout(r, 200));
      const label = `${engine}-background`;
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: label,
        payload: bump(address, label),
      });
      worker.wake();
      const deadline = Date.now() + 30_000;
      while ((await getOutboxEntry({ sql, idempotencyKey: label }))?.status !== 'confirmed') {
        if (Date.now() > deadline) throw new Error(`not confirmed: ${(await statuses(sql)).join(', ')}`);
        worker.wake();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await hits(reader, address, label)).toBe(1n);
      const entry = await getOutboxEntry({ sql, idempotencyKey: label });
      expect(entry).toMatchObject({
        kind: 'Counter.bump',
        status: 'confirmed',
        sender: worker.sender,
        attempts: 1,
      });
      expect(entry?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await getOutboxEntry({ sql, idempotencyKey: 'never-enqueued' })).toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      await worker.stop();
      await sql.close();
    }
  });

  for (const killAt of ['afterRecord', 'afterBroadcast'] as const) {
    it(`F-2 never doubles a write when the worker process is killed -9 ${killAt === 'afterRecord' ? 'after recording, before broadcasting' : 'after broadcasting, before confirming'}`, async () => {
      const store = await openStore(engine);
      const labels = [1, 2, 3].map((i) => `${engine}-${killAt}-${i}`);
      for (const label of labels)
        await enqueueOutbox({
          sql: store.sql,
          kind: 'Counter.bump',
          idempotencyKey: label,
          payload: bump(address, label),
        });
      const before = await count(reader, address);
      // The child owns the store while it runs (one process per PGlite folder).
      await store.sql.close();
      const input: OutboxWorkerProcessInput = {
        dataDir: store.dataDir,
        databaseUrl: store.databaseUrl,
        rpcUrl: anvil.rpcUrl,
        privateKey: relayerKey,
        abi: counter.abi,
        killAt,
      };
      const killed = await runWorkerProcess(input);
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const sql = await openSql({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
      try {
        // The crash left every entry submitted, its hash recorded.
        expect(await statuses(sql)).toEqual(labels.map((l) => `${l}:submitted`));
        expect((await count(reader, address)) - before).toBe(killAt === 'afterRecord' ? 0n : 3n);
        await drain(createOutboxWorker({ sql, client: relayer(), abi: counter.abi }), sql);
        expect(await statuses(sql)).toEqual(labels.map((l) => `${l}:confirmed`));
        for (const label of labels) expect(await hits(reader, address, label)).toBe(1n);
        expect((await count(reader, address)) - before).toBe(3n);
      } finally {
        await sql.close();
      }
    }, 180_000);
  }
});

describe('outbox on a chain with blocks every second (broadcast writes wait in the mempool)', () => {
  it('F-9 lands dependent writes of one pass, in order, estimating each against the pending state', async () => {
    const anvil = await startAnvil({
      dataDir: mkdtempSync(join(tmpdir(), 'carekey-anvil-')),
      port: 0,
      blockTime: 1,
    });
    const { sql } = await openStore('pglite');
    try {
      const address = await deployCounter(anvil.rpcUrl);
      const reader = createPublicClient({ transport: http(anvil.rpcUrl), cacheTime: 0 }) as PublicClient;
      const worker = createOutboxWorker({
        sql,
        client: createWalletClient({
          account: privateKeyToAccount('0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a'),
          transport: http(anvil.rpcUrl),
        }),
        abi: counter.abi,
      });
      // The first tick sends every dependent write at once: none waits for a block to be estimated.
      const start = await count(reader, address);
      for (let i = 0n; i < 5n; i++)
        await enqueueOutbox({
          sql,
          kind: 'Counter.bumpAt',
          idempotencyKey: `mempool-${i}`,
          payload: bumpAt(address, `mempool-${i}`, start + i),
        });
      const first = await worker.tick();
      expect(first.submitted.map((e) => e.idempotencyKey)).toEqual(
        [0, 1, 2, 3, 4].map((i) => `mempool-${i}`),
      );
      expect(first.failed).toEqual([]);
      await drain(worker, sql);
      expect(await count(reader, address)).toBe(start + 5n);
      await expectDependentWritesLand(sql, worker, reader, address, 'mempool-pass');
    } finally {
      await sql.close();
      await anvil.stop();
    }
  }, 120_000);
});

describe('outbox across a chain node restart', () => {
  it('F-4 completes writes pending or in flight while the chain node was down, each exactly once', async () => {
    const chainDir = mkdtempSync(join(tmpdir(), 'carekey-anvil-'));
    // Blocks every second: broadcast transactions wait in the mempool, where a restart loses them.
    let anvil = await startAnvil({ dataDir: chainDir, port: 0, blockTime: 1, stateInterval: 1 });
    const port = anvil.port;
    const address = await deployCounter(anvil.rpcUrl);
    const { sql } = await openStore('pglite');
    const relayerKey = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';
    const worker = createOutboxWorker({
      sql,
      client: createWalletClient({
        account: privateKeyToAccount(relayerKey),
        transport: http(anvil.rpcUrl, { retryCount: 0 }),
      }),
      abi: counter.abi,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    try {
      const reader = () =>
        createPublicClient({ transport: http(`http://127.0.0.1:${port}`), cacheTime: 0 }) as PublicClient;
      for (const label of ['f4-1', 'f4-2'])
        await enqueueOutbox({
          sql,
          kind: 'Counter.bump',
          idempotencyKey: label,
          payload: bump(address, label),
        });
      const report = await worker.tick();
      expect(report.submitted).toHaveLength(2);
      // The node goes down before the next block: the two transactions are only in its mempool.
      await anvil.stop();
      for (const label of ['f4-3', 'f4-4'])
        await enqueueOutbox({
          sql,
          kind: 'Counter.bump',
          idempotencyKey: label,
          payload: bump(address, label),
        });
      await expect(worker.tick()).rejects.toThrow();
      expect(await statuses(sql)).toEqual([
        'f4-1:submitted',
        'f4-2:submitted',
        'f4-3:pending',
        'f4-4:pending',
      ]);

      anvil = await startAnvil({ dataDir: chainDir, port, blockTime: 1, stateInterval: 1 });
      await drain(worker, sql);
      expect(await statuses(sql)).toEqual(['f4-1', 'f4-2', 'f4-3', 'f4-4'].map((l) => `${l}:confirmed`));
      for (const label of ['f4-1', 'f4-2', 'f4-3', 'f4-4'])
        expect(await hits(reader(), address, label)).toBe(1n);
      expect(await count(reader(), address)).toBe(4n);
    } finally {
      await sql.close();
      await anvil.stop();
    }
  }, 120_000);
});

describe('outbox after the chain node lost blocks', () => {
  it('F-4 a write marked confirmed whose block anvil lost (killed -9 before its state dump) is sent again with the same hash, exactly once', async () => {
    const chainDir = mkdtempSync(join(tmpdir(), 'carekey-anvil-'));
    let anvil = await startAnvil({ dataDir: chainDir, port: 0, blockTime: 1 });
    const port = anvil.port;
    const address = await deployCounter(anvil.rpcUrl);
    // Saved with the Counter deployed; from now on no periodic dump, so a kill -9 loses every later block.
    await anvil.stop();
    anvil = await startAnvil({ dataDir: chainDir, port, blockTime: 1, stateInterval: 3600 });
    const { sql } = await openStore('pglite');
    const reader = () =>
      createPublicClient({ transport: http(`http://127.0.0.1:${port}`), cacheTime: 0 }) as PublicClient;
    const worker = createOutboxWorker({
      sql,
      client: createWalletClient({
        account: privateKeyToAccount('0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba'),
        transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
      }),
      abi: counter.abi,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    try {
      const labels = ['lost-1', 'lost-2', 'lost-3'];
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: 'lost-1',
        payload: bump(address, 'lost-1'),
      });
      await enqueueOutbox({
        sql,
        kind: 'Counter.bumpAt',
        idempotencyKey: 'lost-2',
        payload: bumpAt(address, 'lost-2', 1n),
      });
      await enqueueOutbox({
        sql,
        kind: 'Counter.bump',
        idempotencyKey: 'lost-3',
        payload: bump(address, 'lost-3'),
      });
      await drain(worker, sql);
      expect(await statuses(sql)).toEqual(labels.map((l) => `${l}:confirmed`));
      const before = await sql.query<{ idempotency_key: string; tx_hash: Uint8Array; block_number: bigint }>(
        'select idempotency_key, tx_hash, block_number from outbox order by id',
      );
      const hashes = before.rows.map((r) => `0x${Buffer.from(r.tx_hash).toString('hex')}` as Hex);
      expect(await count(reader(), address)).toBe(3n);

      // kill -9 right after the confirmations: anvil comes back from its dump, without those blocks.
      process.kill(anvil.pid, 'SIGKILL');
      await anvil.exited;
      anvil = await startAnvil({ dataDir: chainDir, port, blockTime: 1, stateInterval: 3600 });
      expect(await count(reader(), address)).toBe(0n);
      for (const hash of hashes)
        await expect(reader().getTransactionReceipt({ hash })).rejects.toThrow(/could not be found/);

      const report = await worker.tick();
      expect(report.reopened.map((e) => e.idempotencyKey).sort()).toEqual(labels);
      await drain(worker, sql);
      expect(await statuses(sql)).toEqual(labels.map((l) => `${l}:confirmed`));
      const after = await sql.query<{ tx_hash: Uint8Array; attempts: number }>(
        'select tx_hash, attempts from outbox order by id',
      );
      // The same signed bytes: the same hashes, signed once each.
      expect(after.rows.map((r) => `0x${Buffer.from(r.tx_hash).toString('hex')}`)).toEqual(hashes);
      expect(after.rows.map((r) => r.attempts)).toEqual([1, 1, 1]);
      for (const hash of hashes)
        expect((await reader().getTransactionReceipt({ hash })).status).toBe('success');
      for (const label of labels) expect(await hits(reader(), address, label)).toBe(1n);
      expect(await count(reader(), address)).toBe(3n);
      // A healthy chain: nothing is reopened again.
      expect((await worker.tick()).reopened).toEqual([]);
    } finally {
      await sql.close();
      await anvil.stop();
    }
  }, 120_000);
});
