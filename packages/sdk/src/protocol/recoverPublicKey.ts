import { secp256k1 } from '@noble/curves/secp256k1.js';

/**
 * secp256k1 ECDSA public-key recovery over a 32-byte digest (no hashing): the 65-byte uncompressed public key
 * (`04‖x‖y`) of the key that made `compact` (64 bytes `r‖s`) with recovery bit `bit` (0 or 1, the parity of R's
 * y) over `digest`. Throws when the signature is malformed (r or s not in 1…n−1) or recovers no key. High-s
 * signatures are accepted (as viem's `recoverAddress` and libsecp256k1's `ecdsa_recover` do): the signer is who
 * made the signature; replays are refused by the single-use nonce inside the signed message, not by the signature's
 * form.
 */
export type RecoverPublicKey = (compact: Uint8Array, bit: 0 | 1, digest: Uint8Array) => Uint8Array;

/** Pure-JS recovery (`@noble/curves`), works in every runtime: the default. */
export const nobleRecoverPublicKey: RecoverPublicKey = (compact, bit, digest) =>
  secp256k1.Signature.fromBytes(compact, 'compact')
    .addRecoveryBit(bit)
    .recoverPublicKey(digest)
    .toBytes(false);

let current: { name: string; recover: RecoverPublicKey } = { name: 'noble', recover: nobleRecoverPublicKey };

/** The recovery `checkKeyRequest` and `checkNodeRequest` use, and its name (`noble` until another is installed). */
export function getRecoverPublicKey(): { name: string; recover: RecoverPublicKey } {
  return current;
}

/**
 * Installs the recovery signed requests are checked with, e.g. the node's native libsecp256k1
 * (`packages/node/src/crypto/nativeSecp256k1.ts`). It must give noble's answer on every input: the same key, or a
 * throw where noble throws.
 */
export function setRecoverPublicKey(name: string, recover: RecoverPublicKey): void {
  current = { name, recover };
}
