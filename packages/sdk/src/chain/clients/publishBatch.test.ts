import { type Hex, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../test/chain/startTestChain.ts';
import { ContractRevertError } from '../../errors/chain.ts';
import { hashRecordLeaf, MerkleTreeError, type RecordLeaf, verifyMerkleProof } from '../merkle.ts';
import { getRecordRegistry } from './getRecordRegistry.ts';
import { publishBatch } from './publishBatch.ts';

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(async () => {
  await t?.stop();
});

const b32 = (label: string, i: number): Hex => keccak256(toHex(`${label}-${i}`));
const records = (n: number, salt = 'r'): RecordLeaf[] =>
  Array.from({ length: n }, (_, i) => ({
    recordId: b32(`${salt}-id`, i),
    blobId: b32(`${salt}-blob`, i),
    categoryTag: b32(`${salt}-cat`, i % 3),
    patientCommitment: b32(`${salt}-patient`, 0),
  }));

describe('publishBatch through the typed clients (live RecordRegistry)', () => {
  it('relays a publisher-signed batch; every leaf proof from merkle.ts verifies on chain, a tampered one does not', async () => {
    const hospital = t.newKey();
    const batch = records(7);
    const registry = getRecordRegistry({ address: t.recordRegistry, client: t.relayer });
    const countBefore = await registry.read.batchCount();
    const result = await publishBatch({
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      publisher: hospital.address,
      signer: hospital,
      records: batch,
    });
    expect(result.batchId).toBe(countBefore + 1n);
    expect(await registry.read.batchRoot([result.batchId])).toBe(result.root);
    for (const [i, record] of batch.entries()) {
      const proof = result.proofs[i] as Hex[];
      // Same leaf hash on both sides...
      expect(
        await registry.read.recordLeaf([
          record.recordId,
          record.blobId,
          record.categoryTag,
          record.patientCommitment,
        ]),
      ).toBe(hashRecordLeaf(record));
      // ...and the same verdict.
      expect(verifyMerkleProof({ root: result.root, leaf: hashRecordLeaf(record), proof })).toBe(true);
      expect(
        await registry.read.verifyRecord([
          result.batchId,
          record.recordId,
          record.blobId,
          record.categoryTag,
          record.patientCommitment,
          proof,
        ]),
      ).toBe(true);
    }
    const first = batch[0] as RecordLeaf;
    const tampered = { ...first, categoryTag: b32('other-category', 0) };
    expect(
      await registry.read.verifyRecord([
        result.batchId,
        tampered.recordId,
        tampered.blobId,
        tampered.categoryTag,
        tampered.patientCommitment,
        result.proofs[0] as Hex[],
      ]),
    ).toBe(false);
  });

  it('publishes directly when the sending account owns the publisher identity (one-record batch)', async () => {
    const owner = t.fundedClient(1);
    const result = await publishBatch({
      client: owner,
      recordRegistry: t.recordRegistry,
      publisher: owner.account.address,
      records: records(1, 'single'),
    });
    // A single leaf is its own root, with an empty proof.
    expect(result.proofs).toEqual([[]]);
    expect(result.root).toBe(result.leafHashes[0]);
    const registry = getRecordRegistry({ address: t.recordRegistry, client: t.relayer });
    expect(await registry.read.batchRoot([result.batchId])).toBe(result.root);
  });

  it('T-6 rejects a publish by a non-owner (direct or relayed) and commits nothing', async () => {
    const hospital = t.newKey();
    const registry = getRecordRegistry({ address: t.recordRegistry, client: t.relayer });
    const countBefore = await registry.read.batchCount();

    const direct = await publishBatch({
      client: t.fundedClient(2),
      recordRegistry: t.recordRegistry,
      publisher: hospital.address,
      records: records(2, 'direct'),
    }).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(ContractRevertError);
    expect((direct as ContractRevertError).errorName).toBe('RecordRegistryNotIdentityOwner');
    expect((direct as ContractRevertError).args).toEqual([
      hospital.address,
      t.fundedClient(2).account.address,
      hospital.address,
    ]);

    const relayed = await publishBatch({
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      publisher: hospital.address,
      signer: t.newKey(),
      records: records(2, 'relayed'),
    }).catch((e: unknown) => e);
    expect(relayed).toBeInstanceOf(ContractRevertError);
    expect((relayed as ContractRevertError).errorName).toBe('RecordRegistryInvalidSignature');

    expect(await registry.read.batchCount()).toBe(countBefore);
    expect(await registry.read.nonces([hospital.address])).toBe(0n);
  });

  it('an address that is not a RecordRegistry gives a clear undecodable-revert error', async () => {
    const owner = t.fundedClient(3);
    const error = await publishBatch({
      client: owner,
      recordRegistry: t.consentRegistry,
      publisher: owner.account.address,
      records: records(1, 'wrong-address'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContractRevertError);
    expect((error as ContractRevertError).errorName).toBeUndefined();
    expect((error as Error).message).toContain(
      'RecordRegistry.publishBatch reverted with an undecodable revert',
    );
    expect((error as Error).message).toContain('is the address the expected contract?');
  });

  it('rejects an empty or duplicated batch before sending anything', async () => {
    const hospital = t.newKey();
    const nonce = await t.relayer.getTransactionCount({ address: t.relayer.account.address });
    for (const bad of [[], [...records(1, 'dup'), ...records(1, 'dup')]]) {
      await expect(
        publishBatch({
          client: t.relayer,
          recordRegistry: t.recordRegistry,
          publisher: hospital.address,
          signer: hospital,
          records: bad,
        }),
      ).rejects.toBeInstanceOf(MerkleTreeError);
    }
    expect(await t.relayer.getTransactionCount({ address: t.relayer.account.address })).toBe(nonce);
  });
});
