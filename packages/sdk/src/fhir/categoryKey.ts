import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/** HKDF salt of the patient category key (versioned: a new derivation gets a new salt). */
export const CATEGORY_KEY_HKDF_SALT = 'Carekey category key v1';

/**
 * The patient's category key (docs/protocol.md, "Records": `categoryTag = HMAC-SHA256(patientCategoryKey,
 * category)`), derived from the wallet's secp256k1 key with HKDF-SHA256 so that the same recovery phrase always
 * gives the same tags (a restored wallet still matches its category grants) and nothing public reveals it. One
 * derivation for every gateway (CLI, portal): a category share made in one matches records tagged by the other.
 */
export function categoryKey(privateKey: `0x${string}`): Uint8Array {
  return hkdf(
    sha256,
    hexToBytes(privateKey.slice(2)),
    utf8ToBytes(CATEGORY_KEY_HKDF_SALT),
    utf8ToBytes('carekey/category'),
    32,
  );
}
