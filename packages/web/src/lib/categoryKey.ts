import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from 'viem';

/**
 * The patient's category key, derived exactly as the CLI does (packages/cli/src/home/categoryKey.ts): HKDF-SHA256
 * of the wallet's secp256k1 key, so a category share made here matches records tagged by the CLI and vice versa.
 */
export function categoryKey(privateKey: `0x${string}`): Uint8Array {
  return hkdf(
    sha256,
    hexToBytes(privateKey),
    new TextEncoder().encode('Carekey category key v1'),
    new TextEncoder().encode('carekey/category'),
    32,
  );
}
