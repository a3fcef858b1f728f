import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from 'viem';

/** HKDF salt of the patient category key (versioned: a new derivation gets a new salt). */
export const CATEGORY_KEY_HKDF_SALT = 'Carekey category key v1';

/**
 * The patient's category key (docs/protocol.md, "Records": `categoryTag = HMAC-SHA256(patientCategoryKey,
 * category)`), derived from the wallet's secp256k1 key with HKDF-SHA256 so that the same recovery phrase always
 * gives the same tags (a restored wallet still matches its category grants) and nothing public reveals it.
 */
export function categoryKey(privateKey: `0x${string}`): Uint8Array {
  return hkdf(
    sha256,
    hexToBytes(privateKey),
    new TextEncoder().encode(CATEGORY_KEY_HKDF_SALT),
    new TextEncoder().encode('carekey/category'),
    32,
  );
}
