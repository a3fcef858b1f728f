import type { Hex } from 'viem';

/** Bytes of one node of a record tree (a keccak256). */
const NODE_BYTES = 32;

/**
 * A record's Merkle inclusion proof as the vault stores it (`records.proof_nodes`, migration 015): the sibling
 * hashes bottom-up, 32 bytes each, back to back in one bytea.
 *
 * @example packProof(tree.proofs[i]) // a Buffer of 32 × depth bytes
 */
export function packProof(proof: readonly Hex[]): Buffer {
  return Buffer.from(proof.map((node) => node.slice(2)).join(''), 'hex');
}

/**
 * The inclusion proof stored in `records.proof_nodes` as 0x-hex sibling hashes, bottom-up (`[]` for none: a
 * record not yet in a batch, or alone in its batch). What `verifyMerkleProof` and `POST /v1/keys/release` take.
 *
 * @throws {Error} the column does not hold whole 32-byte nodes (the schema's check forbids it).
 * @example proofNodes(row.proof_nodes)
 */
export function proofNodes(nodes: Uint8Array | null | undefined): Hex[] {
  if (nodes == null) return [];
  if (nodes.length % NODE_BYTES !== 0) throw new Error(`a stored proof of ${nodes.length} bytes`);
  const hex = Buffer.from(nodes.buffer, nodes.byteOffset, nodes.byteLength).toString('hex');
  const proof: Hex[] = [];
  for (let at = 0; at < hex.length; at += 2 * NODE_BYTES)
    proof.push(`0x${hex.slice(at, at + 2 * NODE_BYTES)}`);
  return proof;
}
