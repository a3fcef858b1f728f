import fc from 'fast-check';
import { concat, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  buildMerkleTree,
  buildRecordIdTree,
  buildRecordTree,
  getMerkleProof,
  hashPair,
  hashPatientCommitment,
  hashRecordIdLeaf,
  hashRecordLeaf,
  MerkleTreeError,
  type RecordLeaf,
  verifyMerkleProof,
} from './merkle.ts';

/**
 * A line-by-line JS port of OpenZeppelin 5.4 `MerkleProof.processProof` + `Hashes.commutativeKeccak256`
 * (contracts/utils/cryptography), written independently of merkle.ts: compare as uint256.
 */
function ozVerify(proof: readonly Hex[], root: Hex, leaf: Hex): boolean {
  let computedHash = leaf;
  for (const element of proof) {
    computedHash =
      BigInt(computedHash) < BigInt(element)
        ? keccak256(concat([computedHash, element]))
        : keccak256(concat([element, computedHash]));
  }
  return BigInt(computedHash) === BigInt(root);
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
const recordLeaf = fc.record({
  recordId: bytes32,
  blobId: bytes32,
  categoryTag: bytes32,
  patientCommitment: bytes32,
});
const records = fc.uniqueArray(recordLeaf, { minLength: 1, maxLength: 40, selector: (r) => r.recordId });

/** The SDK vector also hard-coded in contracts/test/SdkCompatibility.t.sol. */
const vectorRecords: RecordLeaf[] = [0, 1, 2, 3, 4].map((i) => ({
  recordId: keccak256(toHex(`record-${i}`)),
  blobId: keccak256(toHex(`blob-${i}`)),
  categoryTag: keccak256(toHex(`category-${i % 2}`)),
  patientCommitment: keccak256(toHex('patient-commitment')),
}));

describe('merkle', () => {
  it('matches the vector the contracts verify (SdkCompatibility.t.sol)', () => {
    const tree = buildRecordTree(vectorRecords);
    expect(tree.root).toBe('0xc725f67fc71ddf76ba39bdc857ce72d9adff275f95d76c5bd70603e033374e19');
    expect(tree.proofs[2]).toEqual([
      '0x8f016ae06f031ee530ddb15e48aed9e4e75c0a030133d6fc119be7b15e5f2070',
      '0x620482a986d21f03f84776b72d38be0f69f7aa90afda99034b9e2dbc6e1731d0',
    ]);
    const idTree = buildRecordIdTree(vectorRecords.map((r) => r.recordId));
    expect(idTree.root).toBe('0xc6610e8b0e53692aa5a711595a976a9754eb084ae11312591fb754084738affd');
    expect(idTree.proofs[3]).toEqual([
      '0xf2170a6446a71d600db43805ec8d26f7512e502a86919dba094f6637ed8f30b6',
      '0xc88e8e0d8c5f01270cbbc43df41de583458dce03eb991e6dff9f29f4f114dbe5',
    ]);
  });

  it('hashes leaves like OZ StandardMerkleTree: keccak256(keccak256(abi.encode(values)))', () => {
    const r = vectorRecords[0] as RecordLeaf;
    const encoded = concat([r.recordId, r.blobId, r.categoryTag, r.patientCommitment]); // abi.encode of 4 × bytes32
    expect(hashRecordLeaf(r)).toBe(keccak256(keccak256(encoded)));
    expect(hashRecordIdLeaf(r.recordId)).toBe(keccak256(keccak256(r.recordId)));
  });

  it('every proof verifies with the OZ MerkleProof port, and a tampered leaf or proof does not', () => {
    fc.assert(
      fc.property(records, fc.nat(), bytes32, (batch, pick, junk) => {
        const tree = buildRecordTree(batch);
        batch.forEach((_, i) => {
          const leaf = tree.leafHashes[i] as Hex;
          const proof = tree.proofs[i] as Hex[];
          expect(ozVerify(proof, tree.root, leaf)).toBe(true);
          expect(verifyMerkleProof({ root: tree.root, leaf, proof })).toBe(true);
        });
        const i = pick % batch.length;
        const victim = batch[i] as RecordLeaf;
        const tampered = hashRecordLeaf({ ...victim, categoryTag: junk });
        fc.pre(junk !== victim.categoryTag);
        expect(ozVerify(tree.proofs[i] as Hex[], tree.root, tampered)).toBe(false);
        expect(verifyMerkleProof({ root: tree.root, leaf: tampered, proof: tree.proofs[i] as Hex[] })).toBe(
          false,
        );
        if (batch.length > 1) {
          const badProof = [...(tree.proofs[i] as Hex[])];
          badProof[0] = junk;
          fc.pre(junk !== tree.proofs[i]?.[0]);
          expect(ozVerify(badProof, tree.root, tree.leafHashes[i] as Hex)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the root does not depend on the order records are given in', () => {
    fc.assert(
      fc.property(records, (batch) => {
        expect(buildRecordTree([...batch].reverse()).root).toBe(buildRecordTree(batch).root);
      }),
      { numRuns: 200 },
    );
  });

  it('a one-leaf tree has the leaf as root and an empty proof (as MerkleProof.verify expects)', () => {
    const tree = buildRecordTree([vectorRecords[0] as RecordLeaf]);
    expect(tree.root).toBe(hashRecordLeaf(vectorRecords[0] as RecordLeaf));
    expect(tree.proofs[0]).toEqual([]);
  });

  it('builds a 1,000-record batch with proofs of depth ≤ 10', () => {
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      ...(vectorRecords[0] as RecordLeaf),
      recordId: keccak256(toHex(i)),
    }));
    const tree = buildRecordTree(batch);
    expect(tree.proofs.every((p) => p.length <= 10)).toBe(true);
    expect(ozVerify(tree.proofs[999] as Hex[], tree.root, tree.leafHashes[999] as Hex)).toBe(true);
  });

  it('the byte-level hashing equals viem abi.encode + keccak256, in any hex case', () => {
    const word = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toHex(b));
    const upper = (h: Hex) => `0x${h.slice(2).toUpperCase()}` as Hex;
    fc.assert(
      fc.property(address, word, word, word, (patient, salt, a, b) => {
        const expected = keccak256(
          encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [patient, salt]),
        );
        expect(hashPatientCommitment(patient, salt)).toBe(expected);
        expect(hashPatientCommitment(upper(patient), upper(salt))).toBe(expected);
        const leaf = { recordId: a, blobId: b, categoryTag: salt, patientCommitment: expected };
        const hash = keccak256(keccak256(concat([a, b, salt, expected])));
        expect(hashRecordLeaf(leaf)).toBe(hash);
        expect(hashRecordLeaf({ ...leaf, recordId: upper(a) })).toBe(hash);
        // The tree's inner nodes are the exported hashPair (sorted pair), whichever side is smaller.
        const tree = buildMerkleTree([a, upper(b)]);
        expect(tree.root).toBe(hashPair(a, b));
        expect(tree.root).toBe(keccak256(concat(a < b.toLowerCase() ? [a, b] : [b, a])));
      }),
      { numRuns: 200 },
    );
    expect(() => hashPatientCommitment('0x1234' as Hex, keccak256('0x01'))).toThrow(/20-byte address/);
    expect(() => hashPatientCommitment(`0x${'11'.repeat(20)}`, '0x12')).toThrow(/salt must be 32 bytes/);
  });

  it('rejects empty trees, duplicate records, malformed values and absent leaves', () => {
    expect(() => buildMerkleTree([])).toThrow(MerkleTreeError);
    const r = vectorRecords[0] as RecordLeaf;
    expect(() => buildRecordTree([r, { ...r }])).toThrow(/duplicate Merkle leaf/);
    expect(() => hashRecordLeaf({ ...r, blobId: '0x1234' })).toThrow(/blobId must be 32 bytes/);
    expect(() => hashRecordIdLeaf('0xzz' as Hex)).toThrow(MerkleTreeError);
    const tree = buildRecordTree(vectorRecords);
    expect(() => getMerkleProof(tree, keccak256('0x01'))).toThrow(/not in the tree/);
    expect(getMerkleProof(tree, tree.leafHashes[4] as Hex)).toEqual(tree.proofs[4]);
  });
});
