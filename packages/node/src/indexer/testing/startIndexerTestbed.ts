/**
 * Test fixture for the indexer: a real anvil (automine, temp data folder) with the Carekey contracts, a migrated
 * PGlite store and helpers that create every indexed event through the SDK's chain actions. No mocks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChainClient,
  changeIdentityOwner,
  denyAccessRequest,
  grantAccess,
  publishBatch,
  purposeOfUse,
  type RecordLeaf,
  requestAccess,
  revokeGrant,
  ScopeKind,
  setEncryptionKey,
  shredRecord,
} from '@carekey/sdk/chain';
import { type Address, createPublicClient, createTestClient, type Hex, http, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type Chain, startChain } from '../../chain/startChain.ts';
import { createPgliteSql, dumpPgliteSql } from '../../db/createPgliteSql.ts';
import { loadMigrations } from '../../db/loadMigrations.ts';
import { migrate } from '../../db/migrate.ts';
import type { Sql, SqlEngine } from '../../db/Sql.ts';
import { openTestSql } from '../../db/testing/sqlEngines.ts';
import { type CreateIndexerParameters, createIndexer, type Indexer } from '../createIndexer.ts';

let template: Promise<Blob> | undefined;

/**
 * A migrated PGlite store (the node's migrations, the indexer's tables included). PGlite's initdb takes seconds (tens on a loaded machine), so
 * the migrated database is made once and kept as a tarball in the temp folder, keyed by the migrations' checksums:
 * every test file and run after the first clones it.
 */
export async function openIndexerSql(): Promise<Sql> {
  template ??= (async () => {
    const migrations = loadMigrations();
    const key = createHash('sha256')
      .update(migrations.map((m) => `${m.version}:${m.checksum}`).join(','))
      .digest('hex')
      .slice(0, 16);
    const path = join(tmpdir(), `carekey-indexer-template-${key}.tar.gz`);
    if (existsSync(path)) return new Blob([readFileSync(path)]);
    const sql = await createPgliteSql();
    try {
      await migrate({ sql });
      const dump = await dumpPgliteSql(sql);
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, Buffer.from(await dump.arrayBuffer()));
      renameSync(temp, path);
      return dump;
    } finally {
      await sql.close();
    }
  })();
  return createPgliteSql({ from: await template });
}

export type IndexerTestbed = {
  chain: Chain;
  sql: Sql;
  dataDir: string;
  /** The anvil port (kept across restarts, so one RPC URL serves every run). */
  port: number;
  relayer(): ChainClient;
  contracts(): { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
  /** An indexer on the testbed's store and chain (a fresh client on the fixed port). */
  indexer(
    options?: Partial<Omit<CreateIndexerParameters, 'sql' | 'client' | 'deployment'>> & { rpcUrl?: string },
  ): Indexer;
  /** The anvil RPC URL (fixed across restarts). */
  rpcUrl: string;
  newKey(): LocalAccount;
  grant(
    patient: LocalAccount,
    grantee: Address,
    options?: { expiresIn?: bigint; requestId?: Hex },
  ): Promise<Hex>;
  revoke(patient: LocalAccount, grantId: Hex): Promise<bigint>;
  request(requester: LocalAccount, patient: Address): Promise<Hex>;
  deny(patient: LocalAccount, requestId: Hex): Promise<void>;
  /** Publishes `count` random records (or exactly `records`, e.g. again on a reset chain) in one batch. */
  publish(
    publisher: LocalAccount,
    count: number,
    records?: readonly RecordLeaf[],
  ): Promise<{
    batchId: bigint;
    recordIds: Hex[];
    root: Hex;
    records: RecordLeaf[];
    leafHashes: Hex[];
    proofs: Hex[][];
  }>;
  shred(patient: LocalAccount, recordId: Hex, action: 'request' | 'cancel' | 'finalize'): Promise<void>;
  setKey(identity: LocalAccount, key: Uint8Array): Promise<void>;
  changeOwner(identity: LocalAccount, newOwner: Address): Promise<void>;
  /** Chain time of the latest block. */
  now(): Promise<bigint>;
  mine(blocks?: number): Promise<void>;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  /** Stops anvil gracefully (state saved). */
  stopChain(): Promise<void>;
  /** Starts anvil again on the same port and data folder; `wipe` deletes its state first (a reset chain). */
  restartChain(options?: { wipe?: boolean; stateInterval?: number }): Promise<Chain>;
  /** SIGKILL anvil: blocks since its last state dump are lost (F-4). */
  killChain(): Promise<void>;
  stop(): Promise<void>;
};

export type StartIndexerTestbedOptions = {
  /** `pglite` (default) or `postgres` (a new database on the test file's server; stop it with `stopTestPostgresServer`). */
  engine?: SqlEngine | undefined;
};

export async function startIndexerTestbed(options: StartIndexerTestbedOptions = {}): Promise<IndexerTestbed> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carekey-indexer-'));
  let chain = await startChain({ dataDir, port: 0, blockTime: 0, shredDelay: 0 });
  const port = chain.anvil?.port ?? 0;
  const rpcUrl = `http://127.0.0.1:${port}`;
  let sql: Sql;
  if (options.engine === 'postgres') {
    sql = await openTestSql('postgres');
    await migrate({ sql });
  } else {
    sql = await openIndexerSql();
  }
  const contracts = () => {
    const c = chain.deployment.contracts;
    return {
      didRegistry: c.didRegistry.address,
      recordRegistry: c.recordRegistry.address,
      consentRegistry: c.consentRegistry.address,
    };
  };
  const testClient = () => createTestClient({ mode: 'anvil', transport: http(rpcUrl) });
  const indexers: Indexer[] = [];
  const now = async () => (await chain.client.getBlock({ blockTag: 'latest' })).timestamp;
  return {
    get chain() {
      return chain;
    },
    sql,
    dataDir,
    port,
    relayer: () => chain.client,
    contracts,
    rpcUrl,
    indexer: ({ rpcUrl: url, ...options } = {}) => {
      const indexer = createIndexer({
        sql,
        client: createPublicClient({ transport: http(url ?? rpcUrl, { retryCount: 0 }) }),
        deployment: chain.deployment,
        ...options,
      });
      indexers.push(indexer);
      return indexer;
    },
    newKey: () => privateKeyToAccount(generatePrivateKey()),
    grant: async (patient, grantee, options = {}) => {
      const { grantId } = await grantAccess({
        client: chain.client,
        consentRegistry: contracts().consentRegistry,
        signer: patient,
        patient: patient.address,
        grantee,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: purposeOfUse('TREAT'),
        expiresAt: (await now()) + (options.expiresIn ?? 3600n),
        requestId: options.requestId,
      });
      return grantId;
    },
    revoke: async (patient, grantId) =>
      (
        await revokeGrant({
          client: chain.client,
          consentRegistry: contracts().consentRegistry,
          grantId,
          signer: patient,
        })
      ).blockNumber,
    request: async (requester, patient) => {
      const { requestId } = await requestAccess({
        client: chain.client,
        consentRegistry: contracts().consentRegistry,
        requester: requester.address,
        signer: requester,
        patient,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: purposeOfUse('HRESCH'),
        expiresAt: (await now()) + 7200n,
      });
      return requestId;
    },
    deny: async (patient, requestId) => {
      await denyAccessRequest({
        client: chain.client,
        consentRegistry: contracts().consentRegistry,
        requestId,
        signer: patient,
      });
    },
    publish: async (publisher, count, given) => {
      const records: RecordLeaf[] = given
        ? [...given]
        : Array.from({ length: count }, () => ({
            recordId: `0x${randomBytes(32).toString('hex')}` as Hex,
            blobId: `0x${randomBytes(32).toString('hex')}` as Hex,
            categoryTag: `0x${randomBytes(32).toString('hex')}` as Hex,
            patientCommitment: `0x${randomBytes(32).toString('hex')}` as Hex,
          }));
      const { batchId, root, leafHashes, proofs } = await publishBatch({
        client: chain.client,
        recordRegistry: contracts().recordRegistry,
        publisher: publisher.address,
        signer: publisher,
        records,
      });
      return { batchId, recordIds: records.map((r) => r.recordId), root, records, leafHashes, proofs };
    },
    shred: async (patient, recordId, action) => {
      await shredRecord({
        client: chain.client,
        recordRegistry: contracts().recordRegistry,
        patient: patient.address,
        signer: patient,
        recordId,
        action,
      });
    },
    setKey: async (identity, key) => {
      await setEncryptionKey({
        client: chain.client,
        didRegistry: contracts().didRegistry,
        identity: identity.address,
        signer: identity,
        publicKey: key,
      });
    },
    changeOwner: async (identity, newOwner) => {
      await changeIdentityOwner({
        client: chain.client,
        didRegistry: contracts().didRegistry,
        identity: identity.address,
        signer: identity,
        newOwner,
      });
    },
    now,
    mine: async (blocks = 1) => {
      await testClient().mine({ blocks });
    },
    snapshot: () => testClient().snapshot(),
    revert: async (id) => {
      await testClient().revert({ id });
    },
    stopChain: () => chain.stop(),
    restartChain: async (options = {}) => {
      await chain.stop();
      if (options.wipe) rmSync(join(dataDir, 'chain', 'anvil-state.json'), { force: true });
      chain = await startChain({
        dataDir,
        port,
        blockTime: 0,
        shredDelay: 0,
        stateInterval: options.stateInterval,
      });
      return chain;
    },
    killChain: async () => {
      const anvil = chain.anvil;
      if (!anvil) return;
      process.kill(anvil.pid, 'SIGKILL');
      await anvil.exited;
    },
    stop: async () => {
      for (const indexer of indexers) await indexer.stop();
      await chain.stop();
      await sql.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
