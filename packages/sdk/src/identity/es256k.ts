import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';
import { type Address, bytesToHex, type Hex, hexToBytes, isAddressEqual } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';

const encoder = new TextEncoder();

/**
 * A JWS ES256K signer (RFC 8812: ECDSA secp256k1 over SHA-256, signature `r‖s` base64url) for the SD-JWT library,
 * with the identity owner's key.
 */
export function es256kSigner(privateKey: Hex): (data: string) => string {
  const key = hexToBytes(privateKey);
  return (data) => base64urlnopad.encode(secp256k1.sign(encoder.encode(data), key, { format: 'compact' }));
}

/**
 * Whether `signature` (base64url `r‖s`) over `data` was made by the key of `address`: the public key is recovered
 * with both recovery ids (an ES256K JWS has none) and compared by address, so an ERC-1056 owner — which is an
 * address, not a key — can be checked. High-S signatures are refused.
 */
export function verifyEs256k(data: string, signature: string, address: Address): boolean {
  let compact: Uint8Array;
  try {
    compact = base64urlnopad.decode(signature);
  } catch {
    return false;
  }
  if (compact.length !== 64) return false;
  let parsed: ReturnType<typeof secp256k1.Signature.fromBytes>;
  try {
    parsed = secp256k1.Signature.fromBytes(compact, 'compact');
  } catch {
    return false;
  }
  if (parsed.hasHighS()) return false;
  const digest = sha256(encoder.encode(data));
  for (const bit of [0, 1]) {
    try {
      const point = parsed.addRecoveryBit(bit).recoverPublicKey(digest);
      if (isAddressEqual(publicKeyToAddress(bytesToHex(point.toBytes(false))), address)) return true;
    } catch {
      // this recovery id gives no point: try the other
    }
  }
  return false;
}
