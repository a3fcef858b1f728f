/**
 * Test fixture for the vault: a real anvil with the Carekey contracts (automine), a migrated PGlite store, a
 * filesystem blob store and real age crypto. No mocks. Helpers publish records, create grants through the vault
 * (relayed to the chain by draining the outbox) and sign key requests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBlobId } from '@carekey/sdk/blobs';
import {
  buildRecordIdTree,
  buildRecordTree,
  type ChainClient,
  consentRegistryAbi,
  getSignatureContext,
  purposeOfUse,
  type ScopeKind,
  signGrant,
  toPublishTypedData,
  ZERO_BYTES32,
} from '@carekey/sdk/chain';
import { encodeStanza, encryptPayload, wrapFileKey, X25519Identity } from '@carekey/sdk/crypto';
import { type KeyRequest, type SignedEnvelope, signKeyRequest } from '@carekey/sdk/protocol';
import {
  type Address,
  bytesToHex,
  createTestClient,
  encodeAbiParameters,
  type Hex,
  http,
  keccak256,
  type LocalAccount,
  parseEventLogs,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { FileBlobStore } from '../../blobs/FileBlobStore.ts';
import { type Chain, startChain } from '../../chain/startChain.ts';
import { createPgliteSql } from '../../db/createPgliteSql.ts';
import { migrate } from '../../db/migrate.ts';
import type { Sql } from '../../db/Sql.ts';
import { openTestSql } from '../../db/testing/sqlEngines.ts';
import { cacheVaultChain } from '../cacheVaultChain.ts';
import { createVaultChain } from '../createVaultChain.ts';
import { type PublishRecordsParameters, publishRecords } from '../publishRecords.ts';
import { submitGrant } from '../submitGrant.ts';
import type { Vault } from '../Vault.ts';
import { drainOutbox } from './drainOutbox.ts';

/** A person or institution: an ERC-1056 identity (its own key is the owner) and an X25519 decryption key. */
export type TestIdentity = { account: LocalAccount; address: Address; x25519: X25519Identity };

/** A published test record and its secrets (kept client-side in real life). */
export type TestRecord = {
  recordId: Hex;
  blobId: string;
  categoryTag: Hex;
  fileKey: Uint8Array;
  plaintext: Uint8Array;
  salt: Hex;
};

export type VaultTestbed = {
  vault: Vault;
  chain: Chain;
  sql: Sql;
  relayer: ChainClient;
  dataDir: string;
  newIdentity(): TestIdentity;
  /** Encrypts and uploads records of `patient` and signs their batch (by `signer`, default the publisher); stores nothing in the vault. */
  preparePublish(options: {
    patient: TestIdentity;
    publisher?: TestIdentity;
    signer?: TestIdentity;
    tags: readonly Hex[];
  }): Promise<{ records: TestRecord[]; parameters: PublishRecordsParameters }>;
  /** Publishes records of `patient` (signed by `publisher`, default the patient) and relays the batch. */
  publish(options: {
    patient: TestIdentity;
    publisher?: TestIdentity;
    tags: readonly Hex[];
  }): Promise<TestRecord[]>;
  /** Creates a grant through `submitGrant` (stanzas for `records`), relays it and returns its id. */
  grant(options: {
    patient: TestIdentity;
    grantee: TestIdentity;
    scopeKind: ScopeKind;
    scopeData?: readonly Hex[];
    /** For a Records scope: the ids in the scope (its root is built from them). */
    scopeRecordIds?: readonly Hex[];
    records: readonly TestRecord[];
    expiresIn?: bigint;
  }): Promise<Hex>;
  /** A signed key request (default grantee: the account's address). */
  keyRequest(options: {
    account: LocalAccount;
    grantee?: Address;
    grantId: Hex;
    recordIds: readonly Hex[];
    audience?: string;
  }): Promise<SignedEnvelope<'KeyRequest'>>;
  drain(): Promise<void>;
  chainTime(): Promise<bigint>;
  advanceTime(seconds: number): Promise<void>;
  mine(blocks: number): Promise<void>;
  stop(): Promise<void>;
};

export const TEST_AUDIENCE = 'carekey-vault-test';

/** A random 32-byte category tag (what `HMAC(patientCategoryKey, category)` looks like). */
export const randomTag = (): Hex => bytesToHex(randomBytes(32));

export async function startVaultTestbed(
  options: {
    confirmations?: number;
    shredDelay?: number;
    /** Keep the SQL store on disk in this folder (crash tests hand it to a child process); default in memory. */
    sqlDir?: string;
  } = {},
): Promise<VaultTestbed> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carekey-vault-'));
  const shredDelay = options.shredDelay ?? 0;
  const chain = await startChain({ dataDir, port: 0, blockTime: 0, shredDelay });
  let sql: Sql;
  if (options.sqlDir === undefined) sql = await openTestSql('pglite', { migrated: true });
  else {
    sql = await createPgliteSql({ dataDir: options.sqlDir });
    await migrate({ sql });
  }
  const blobs = await FileBlobStore.open({ dir: join(dataDir, 'blobs') });
  const { contracts } = chain.deployment;
  const chainReader = createVaultChain({
    client: chain.client,
    chainId: chain.chainId,
    contracts: {
      didRegistry: contracts.didRegistry.address,
      recordRegistry: contracts.recordRegistry.address,
      consentRegistry: contracts.consentRegistry.address,
    },
    fromBlock: BigInt(chain.deployment.deployBlock),
    headSocketUrl: chain.rpcUrl.replace(/^http/u, 'ws'),
  });
  const vault: Vault = {
    sql,
    // Cached per block, the head read over anvil's WebSocket, as startNode does: every vault test runs through both.
    chain: cacheVaultChain(chainReader),
    blobs,
    audience: TEST_AUDIENCE,
    confirmations: options.confirmations ?? 1,
    shredDelay,
  };
  const relayer = chain.client;
  const testClient = createTestClient({ mode: 'anvil', transport: http(chain.rpcUrl) });
  const domain = { chainId: chain.chainId, verifyingContract: contracts.consentRegistry.address };
  const drain = async () => {
    await drainOutbox(sql, relayer);
  };

  const preparePublish: VaultTestbed['preparePublish'] = async ({
    patient,
    publisher = patient,
    tags,
    signer = publisher,
  }) => {
    const made: TestRecord[] = [];
    const inputs = [];
    for (const categoryTag of tags) {
      const plaintext = new Uint8Array(randomBytes(100 + made.length));
      const { fileKey, payload } = encryptPayload({ plaintext });
      const stored = await blobs.put({ source: payload });
      const salt = bytesToHex(randomBytes(32));
      const recordId = bytesToHex(randomBytes(32));
      const readers = [patient, ...(publisher === patient ? [] : [publisher])];
      const stanzas = [];
      for (const reader of readers) {
        stanzas.push({
          reader: reader.address,
          stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: reader.x25519.recipient })),
        });
      }
      made.push({ recordId, blobId: stored.id, categoryTag, fileKey, plaintext, salt });
      inputs.push({ recordId, blobId: stored.id, categoryTag, salt, stanzas });
    }
    const tree = buildRecordTree(
      made.map((r) => ({
        recordId: r.recordId,
        blobId: bytesToHex(parseBlobId(r.blobId).digest),
        categoryTag: r.categoryTag,
        patientCommitment: keccak256(
          encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [patient.address, r.salt]),
        ),
      })),
    );
    const { nonce, deadline } = await getSignatureContext({
      client: relayer,
      contract: 'RecordRegistry',
      address: contracts.recordRegistry.address,
      identity: publisher.address,
    });
    const message = { publisher: publisher.address, root: tree.root, count: made.length, nonce, deadline };
    const signature = await signer.account.signTypedData(
      toPublishTypedData({
        chainId: chain.chainId,
        verifyingContract: contracts.recordRegistry.address,
        message,
      }),
    );
    return {
      records: made,
      parameters: {
        vault,
        publisher: publisher.address,
        patient: patient.address,
        records: inputs,
        publish: { root: tree.root, count: made.length, nonce, deadline, signature },
      },
    };
  };

  return {
    vault,
    chain,
    sql,
    relayer,
    dataDir,
    newIdentity: () => {
      const account = privateKeyToAccount(generatePrivateKey());
      return { account, address: account.address, x25519: X25519Identity.generate() };
    },
    preparePublish,
    publish: async (options) => {
      const { records, parameters } = await preparePublish(options);
      await publishRecords(parameters);
      await drain();
      return records;
    },
    grant: async ({
      patient,
      grantee,
      scopeKind,
      scopeData = [],
      scopeRecordIds,
      records,
      expiresIn = 3600n,
    }) => {
      const now = (await relayer.getBlock({ blockTag: 'latest' })).timestamp;
      const data = scopeRecordIds ? [buildRecordIdTree(scopeRecordIds).root] : scopeData;
      const signed = await signGrant({
        client: relayer,
        consentRegistry: contracts.consentRegistry.address,
        signer: patient.account,
        patient: patient.address,
        grantee: grantee.address,
        scopeKind,
        scopeData: data,
        purpose: purposeOfUse('TREAT'),
        expiresAt: now + expiresIn,
      });
      const stanzas = [];
      for (const r of records) {
        stanzas.push({
          recordId: r.recordId,
          stanza: encodeStanza(
            await wrapFileKey({ fileKey: r.fileKey, recipient: grantee.x25519.recipient }),
          ),
        });
      }
      await submitGrant({
        vault,
        identity: patient.address,
        grant: { ...signed.message, signature: signed.signature },
        recipient: grantee.x25519.recipient.toString(),
        scopeRecordIds,
        stanzas,
      });
      const receipts = await drainOutbox(sql, relayer);
      const [event] = parseEventLogs({
        abi: consentRegistryAbi,
        logs: receipts.flatMap((r) => r.logs),
        eventName: 'GrantCreated',
      });
      if (!event) throw new Error('no GrantCreated event');
      return event.args.grantId;
    },
    keyRequest: ({ account, grantee, grantId, recordIds, audience = TEST_AUDIENCE }) =>
      signKeyRequest({ account, domain, ...(grantee ? { grantee } : {}), grantId, recordIds, audience }),
    drain,
    chainTime: async () => (await relayer.getBlock({ blockTag: 'latest' })).timestamp,
    advanceTime: async (seconds) => {
      await testClient.increaseTime({ seconds });
      await testClient.mine({ blocks: 1 });
    },
    mine: async (blocks) => {
      await testClient.mine({ blocks });
    },
    stop: async () => {
      await chainReader.close();
      await sql.close();
      await chain.stop();
    },
  };
}

/** Owner reads use grant id zero. */
export const OWNER_GRANT: Hex = ZERO_BYTES32;
export type { KeyRequest };

/** `items[index]`, or a test failure naming the index if it is missing. */
export function nth<item>(items: readonly item[], index: number): item {
  const found = items[index];
  if (found === undefined) throw new Error(`no item at index ${index}`);
  return found;
}
