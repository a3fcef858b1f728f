/**
 * Merkle trees of record leaves, exactly as `RecordRegistry` and `ConsentRegistry` verify them.
 *
 * Layout and hashing are those of OpenZeppelin's `StandardMerkleTree` (`@openzeppelin/merkle-tree`):
 * - leaf = `keccak256(keccak256(abi.encode(...values)))` (double hash: a leaf can never be
 *   confused with an inner node, which hashes 64 bytes once);
 * - inner node = `keccak256(min(a, b) ‖ max(a, b))` (sorted pairs, as OZ `MerkleProof.verify`);
 * - leaves sorted by hash, stored as a complete binary tree in an array (root at index 0).
 * So a root built here equals `StandardMerkleTree.of(values, ['bytes32', 'bytes32', 'bytes32', 'bytes32']).root`.
 *
 * Record leaf: `(recordId, blobId, categoryTag, patientCommitment)`, all `bytes32`
 * (see DESIGN.md "Data flow" step 4); record-id leaf (grant scopes): `(recordId)`.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { type Address, bytesToHex, concat, type Hex, hexToBytes, isHex, keccak256, size } from 'viem';
import { ChainError } from '../errors/chain.ts';

// The hashing below works on bytes with noble's keccak directly: `abi.encode` of fixed-size values is their 32-byte
// words back to back, so the leaves, pairs and commitments need no ABI encoder, and hex is converted once per value
// (viem's `keccak256` converts its input and output each time; this was most of the Merkle cost of an import).

/** One record as committed on chain: four opaque 32-byte values, nothing in clear. */
export type RecordLeaf = {
  /** Random 32-byte record id. */
  recordId: Hex;
  /** 32-byte digest (sha2-256) of the ciphertext's CIDv1. */
  blobId: Hex;
  /** `HMAC(patientSalt, resourceType|category)`. */
  categoryTag: Hex;
  /** Salted commitment to the patient. */
  patientCommitment: Hex;
};

/** A built tree: the root and every node, in the OpenZeppelin array layout. */
export type MerkleTree = {
  /** The root committed on chain. */
  root: Hex;
  /** All nodes; `nodes[0]` is the root, the leaves are the last `leafCount` entries. */
  nodes: readonly Hex[];
  /** Number of leaves. */
  leafCount: number;
};

/** A tree input was malformed (not 32 bytes of hex, empty, duplicated) or a leaf is absent. */
export class MerkleTreeError extends ChainError {
  override name = 'MerkleTreeError';
}

function assertBytes32(value: Hex, field: string): void {
  if (!isHex(value, { strict: true }) || size(value) !== 32) {
    throw new MerkleTreeError(`${field} must be 32 bytes of hex, got '${String(value).slice(0, 80)}'`, {
      details: { field },
      hint: 'pass a 0x-prefixed 64-hex-digit value',
    });
  }
}

/** The leaf hash of a record, as `RecordRegistry.recordLeaf` computes it. */
export function hashRecordLeaf(leaf: RecordLeaf): Hex {
  assertBytes32(leaf.recordId, 'recordId');
  assertBytes32(leaf.blobId, 'blobId');
  assertBytes32(leaf.categoryTag, 'categoryTag');
  assertBytes32(leaf.patientCommitment, 'patientCommitment');
  const words = new Uint8Array(128);
  words.set(hexToBytes(leaf.recordId), 0);
  words.set(hexToBytes(leaf.blobId), 32);
  words.set(hexToBytes(leaf.categoryTag), 64);
  words.set(hexToBytes(leaf.patientCommitment), 96);
  return bytesToHex(keccak_256(keccak_256(words)));
}

/**
 * A record's salted commitment to its patient, `keccak256(abi.encode(patient, salt))` (the leaf's
 * `patientCommitment`; the salt stays in the vault and is deleted on shred).
 */
export function hashPatientCommitment(patient: Address, salt: Hex): Hex {
  assertBytes32(salt, 'salt');
  if (!isHex(patient, { strict: true }) || size(patient) !== 20) {
    throw new MerkleTreeError(`patient must be a 20-byte address, got '${String(patient).slice(0, 80)}'`, {
      details: { field: 'patient' },
    });
  }
  const words = new Uint8Array(64);
  words.set(hexToBytes(patient), 12);
  words.set(hexToBytes(salt), 32);
  return bytesToHex(keccak_256(words));
}

/** The leaf hash of a record id in a grant's `Records` scope, as `ConsentRegistry.recordIdLeaf`. */
export function hashRecordIdLeaf(recordId: Hex): Hex {
  assertBytes32(recordId, 'recordId');
  return bytesToHex(keccak_256(keccak_256(hexToBytes(recordId))));
}

function compareHex(a: Hex, b: Hex): number {
  // Lower-case hex of equal length sorts as its bytes do.
  if (a.length === b.length) {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = hexToBytes(a);
  const y = hexToBytes(b);
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** An inner node: the keccak256 of the two children, smaller first (OZ `Hashes.commutativeKeccak256`). */
export function hashPair(a: Hex, b: Hex): Hex {
  return compareHex(a, b) <= 0 ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/**
 * Builds a tree over leaf hashes (from `hashRecordLeaf` / `hashRecordIdLeaf`).
 *
 * @throws MerkleTreeError if there are no leaves, a leaf is not 32 bytes, or a leaf repeats.
 * @example buildMerkleTree(records.map(hashRecordLeaf)).root
 */
export function buildMerkleTree(leaves: readonly Hex[]): MerkleTree {
  if (leaves.length === 0) throw new MerkleTreeError('cannot build a Merkle tree without leaves');
  for (const leaf of leaves) assertBytes32(leaf, 'leaf');
  const sorted = leaves.map((leaf) => leaf.toLowerCase() as Hex).sort(compareHex);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      throw new MerkleTreeError(`duplicate Merkle leaf ${sorted[i]}`, { hint: 'record ids must be unique' });
    }
  }
  const nodes = new Array<Hex>(2 * sorted.length - 1);
  const bytes = new Array<Uint8Array>(nodes.length);
  sorted.forEach((leaf, i) => {
    nodes[nodes.length - 1 - i] = leaf;
    bytes[nodes.length - 1 - i] = hexToBytes(leaf);
  });
  const pair = new Uint8Array(64);
  for (let i = nodes.length - 1 - sorted.length; i >= 0; i--) {
    const left = bytes[2 * i + 1] as Uint8Array;
    const right = bytes[2 * i + 2] as Uint8Array;
    const leftFirst = (nodes[2 * i + 1] as Hex) <= (nodes[2 * i + 2] as Hex);
    pair.set(leftFirst ? left : right, 0);
    pair.set(leftFirst ? right : left, 32);
    const hash = keccak_256(pair);
    bytes[i] = hash;
    nodes[i] = bytesToHex(hash);
  }
  return { root: nodes[0] as Hex, nodes, leafCount: sorted.length };
}

/**
 * The inclusion proof of a leaf hash: sibling hashes from the leaf up to (not including) the root.
 *
 * @throws MerkleTreeError if the leaf is not in the tree.
 */
export function getMerkleProof(tree: MerkleTree, leaf: Hex): Hex[] {
  const wanted = leaf.toLowerCase();
  let index = -1;
  for (let i = tree.nodes.length - tree.leafCount; i < tree.nodes.length; i++) {
    if (tree.nodes[i] === wanted) {
      index = i;
      break;
    }
  }
  if (index < 0) throw new MerkleTreeError(`leaf ${leaf} is not in the tree`);
  return proofAt(tree, index);
}

function proofAt(tree: MerkleTree, nodeIndex: number): Hex[] {
  let index = nodeIndex;
  const proof: Hex[] = [];
  while (index > 0) {
    const sibling = index % 2 === 1 ? index + 1 : index - 1;
    proof.push(tree.nodes[sibling] as Hex);
    index = Math.floor((index - 1) / 2);
  }
  return proof;
}

export type VerifyMerkleProofParameters = {
  /** The committed root. */
  root: Hex;
  /** The leaf hash. */
  leaf: Hex;
  /** Sibling hashes from the leaf upwards. */
  proof: readonly Hex[];
};

/** Whether `proof` proves `leaf` under `root` (what OZ `MerkleProof.verify` returns on chain). */
export function verifyMerkleProof({ root, leaf, proof }: VerifyMerkleProofParameters): boolean {
  let computed = leaf.toLowerCase() as Hex;
  for (const sibling of proof) computed = hashPair(computed, sibling.toLowerCase() as Hex);
  return computed === root.toLowerCase();
}

export type RecordTree = MerkleTree & {
  /** Inclusion proofs, in the order the records were given. */
  proofs: Hex[][];
  /** Leaf hashes, in the order the records were given. */
  leafHashes: Hex[];
};

/**
 * Builds the tree of a batch of records: its root goes to `RecordRegistry.publishBatch`, each
 * proof to the vault beside its record.
 *
 * @example const { root, proofs } = buildRecordTree(records)
 */
export function buildRecordTree(records: readonly RecordLeaf[]): RecordTree {
  return withProofs(records.map(hashRecordLeaf));
}

function withProofs(leafHashes: Hex[]): RecordTree {
  const tree = buildMerkleTree(leafHashes);
  const position = new Map<Hex, number>();
  for (let i = tree.nodes.length - tree.leafCount; i < tree.nodes.length; i++)
    position.set(tree.nodes[i] as Hex, i);
  const proofs = leafHashes.map((leaf) => proofAt(tree, position.get(leaf.toLowerCase() as Hex) ?? -1));
  return { ...tree, leafHashes, proofs };
}

/** Builds the record-id tree of a grant's `Records` scope (its root goes into `scopeData`). */
export function buildRecordIdTree(recordIds: readonly Hex[]): RecordTree {
  return withProofs(recordIds.map(hashRecordIdLeaf));
}
