import { randomBytes } from 'node:crypto';
import { blobIdFromDigest, parseBlobId } from '@carekey/sdk/blobs';
import { recordRegistryAbi, verifyMerkleProof } from '@carekey/sdk/chain';
import { VaultInputError } from '@carekey/sdk/errors';
import { bytesToHex, encodeAbiParameters, type Hex, hexToBytes, keccak256 } from 'viem';
import { readContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PublishRecordsParameters, publishRecords } from './publishRecords.ts';
import { proofNodes } from './recordProof.ts';
import { nth, randomTag, startVaultTestbed, type VaultTestbed } from './testing/startVaultTestbed.ts';

let t: VaultTestbed;
beforeAll(async () => {
  t = await startVaultTestbed();
});
afterAll(async () => {
  await t?.stop();
});

const TABLES = ['records', 'stanzas', 'record_batches', 'outbox', 'access_log'] as const;

async function counts(): Promise<Record<string, bigint>> {
  const result: Record<string, bigint> = {};
  for (const table of TABLES) {
    const { rows } = await t.sql.query<{ n: bigint }>(`select count(*) as n from ${table}`);
    result[table] = nth(rows, 0).n;
  }
  return result;
}

/** Expects a refusal with `code` that leaves every vault table as it was. */
async function refusedWith(parameters: PublishRecordsParameters, code: string): Promise<void> {
  const before = await counts();
  const error = await publishRecords(parameters).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(VaultInputError);
  expect((error as VaultInputError).code).toBe(code);
  expect(await counts()).toEqual(before);
}

describe('publishRecords', () => {
  it('stores records, stanzas, proofs, salts, the outbox entry and a publish row in one go; the chain verifies each proof', async () => {
    const patient = t.newIdentity();
    const provider = t.newIdentity();
    const { records, parameters } = await t.preparePublish({
      patient,
      publisher: provider,
      tags: [randomTag(), `0x${'00'.repeat(32)}`],
    });
    const result = await publishRecords(parameters);
    const { rows: outbox } = await t.sql.query<{ kind: string; idempotency_key: string }>(
      'select kind, idempotency_key from outbox where idempotency_key = $1',
      [result.publishDigest],
    );
    expect(nth(outbox, 0).kind).toBe('RecordRegistry.publishBatchSigned');
    const { rows: stanzas } = await t.sql.query<{ n: bigint }>(
      'select count(*) as n from stanzas where record_id = any($1)',
      [records.map((r) => hexToBytes(r.recordId))],
    );
    expect(nth(stanzas, 0).n).toBe(4n); // patient + provider, two records
    const { rows: log } = await t.sql.query<{ actor: Uint8Array; patient: Uint8Array }>(
      `select actor, patient from access_log where action = 'publish' and request_digest = $1`,
      [hexToBytes(result.publishDigest)],
    );
    expect(bytesToHex(nth(log, 0).actor)).toBe(provider.address.toLowerCase());
    expect(bytesToHex(nth(log, 0).patient)).toBe(patient.address.toLowerCase());

    await t.drain();
    const { recordRegistry } = t.vault.chain.contracts;
    const batchId = await readContract(t.relayer, {
      abi: recordRegistryAbi,
      address: recordRegistry,
      functionName: 'batchCount',
    });
    for (const [i, record] of records.entries()) {
      const { rows } = await t.sql.query<{
        proof_nodes: Uint8Array;
        proof: Uint8Array[];
        salt: Uint8Array;
      }>('select r.proof_nodes, r.proof, r.salt from records r where r.record_id = $1', [
        hexToBytes(record.recordId),
      ]);
      const proof = proofNodes(nth(rows, 0).proof_nodes);
      expect(proof).toEqual(nth(result.records, i).proof);
      // `r.proof` (migration 015's function of the row) reads the same nodes as a bytea[].
      expect(nth(rows, 0).proof.map((p) => bytesToHex(p))).toEqual(proof);
      const verified = await readContract(t.relayer, {
        abi: recordRegistryAbi,
        address: recordRegistry,
        functionName: 'verifyRecord',
        args: [
          batchId,
          record.recordId,
          bytesToHex(parseBlobId(record.blobId).digest),
          record.categoryTag,
          keccak256(
            encodeAbiParameters(
              [{ type: 'address' }, { type: 'bytes32' }],
              [patient.address, bytesToHex(nth(rows, 0).salt)],
            ),
          ),
          proof,
        ],
      });
      expect(verified).toBe(true);
    }
    // one bit of a stored proof flipped, the proof read back no longer proves the record under its batch root
    // (on chain nor in JS), and a proof that is not whole 32-byte nodes cannot be stored.
    const first = nth(records, 0);
    await t.sql.query(
      'update records set proof_nodes = set_byte(proof_nodes, 31, get_byte(proof_nodes, 31) # 1) where record_id = $1',
      [hexToBytes(first.recordId)],
    );
    const { rows: tampered } = await t.sql.query<{
      proof_nodes: Uint8Array;
      leaf: Uint8Array;
      salt: Uint8Array;
    }>('select proof_nodes, leaf, salt from records where record_id = $1', [hexToBytes(first.recordId)]);
    const tamperedProof = proofNodes(nth(tampered, 0).proof_nodes);
    expect(tamperedProof).not.toEqual(nth(result.records, 0).proof);
    expect(
      verifyMerkleProof({ root: result.root, leaf: bytesToHex(nth(tampered, 0).leaf), proof: tamperedProof }),
    ).toBe(false);
    expect(
      await readContract(t.relayer, {
        abi: recordRegistryAbi,
        address: recordRegistry,
        functionName: 'verifyRecord',
        args: [
          batchId,
          first.recordId,
          bytesToHex(parseBlobId(first.blobId).digest),
          first.categoryTag,
          keccak256(
            encodeAbiParameters(
              [{ type: 'address' }, { type: 'bytes32' }],
              [patient.address, bytesToHex(nth(tampered, 0).salt)],
            ),
          ),
          tamperedProof,
        ],
      }),
    ).toBe(false);
    const cut = await t.sql
      .query('update records set proof_nodes = substring(proof_nodes from 2) where record_id = $1', [
        hexToBytes(first.recordId),
      ])
      .catch((e: unknown) => e);
    expect((cut as { code?: string }).code).toBe('23514');
    expect(() => proofNodes(new Uint8Array(33))).toThrow();
    // The same batch again: refused, nothing doubled.
    await refusedWith(parameters, 'record-exists');
  });

  it('bad input gets a clear error and changes nothing (every field checked before the transaction)', async () => {
    const patient = t.newIdentity();
    const other = t.newIdentity();
    const fresh = async () =>
      (await t.preparePublish({ patient, tags: [randomTag(), randomTag()] })).parameters;
    const withRecord = (
      p: PublishRecordsParameters,
      change: (r: PublishRecordsParameters['records'][number]) => object,
    ) => ({
      ...p,
      records: p.records.map((r, i) => (i === 0 ? { ...r, ...change(r) } : r)),
    });

    let p = await fresh();
    await refusedWith(
      withRecord(p, () => ({ categoryTag: randomTag() })),
      'root-mismatch',
    );
    await refusedWith({ ...p, publish: { ...p.publish, count: 3 } }, 'count-mismatch');
    await refusedWith(
      withRecord(p, () => ({ blobId: blobIdFromDigest(randomBytes(32)).id })),
      'blob-missing',
    );
    await refusedWith(
      withRecord(p, (r) => ({ blobId: r.blobId.toUpperCase() })),
      'invalid-blob-id',
    );
    await refusedWith(
      withRecord(p, () => ({ recordId: '0x1234' as Hex })),
      'invalid-bytes32',
    );
    await refusedWith(
      withRecord(p, (r) => ({ stanzas: r.stanzas.map((s) => ({ ...s, reader: other.address })) })),
      'no-patient-stanza',
    );
    await refusedWith(
      withRecord(p, (r) => ({
        stanzas: r.stanzas.map((s) => ({ ...s, stanza: '-> scrypt c2FsdA 18\nAAAA\n' })),
      })),
      'invalid-stanza',
    );
    await refusedWith(
      withRecord(p, (r) => ({
        stanzas: r.stanzas.map((s) => ({ ...s, stanza: `${s.stanza}AGE-SECRET-KEY-1XYZ\n` })),
      })),
      'invalid-stanza',
    );
    await refusedWith({ ...p, records: [nth(p.records, 0), nth(p.records, 0)] }, 'duplicate-record');
    // Someone else's signature, or the batch claimed by another publisher.
    p = (await t.preparePublish({ patient, tags: [randomTag()], signer: other })).parameters;
    await refusedWith(p, 'not-owner');
    p = await fresh();
    await refusedWith({ ...p, publisher: other.address }, 'not-owner');
    // And the untouched batch still publishes.
    await publishRecords(p);
  });
});
