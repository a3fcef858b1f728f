/**
 * The one HPKE (RFC 9180) configuration age's hybrid recipient uses: base
 * mode, KEM MLKEM768-X25519 (X-Wing, id 0x647a), KDF HKDF-SHA256 (0x0001),
 * AEAD ChaCha20-Poly1305 (0x0003), single-shot seal/open (sequence 0).
 * Internal; see https://www.rfc-editor.org/rfc/rfc9180#section-5.1.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from './primitives.ts';

const SUITE_ID = concatBytes(utf8('HPKE'), new Uint8Array([0x64, 0x7a, 0x00, 0x01, 0x00, 0x03]));
const HPKE_V1 = utf8('HPKE-v1');
const EMPTY = new Uint8Array(0);

function labeledExtract(salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concatBytes(HPKE_V1, SUITE_ID, utf8(label), ikm), salt);
}

function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  const lengthBytes = new Uint8Array([length >> 8, length & 255]);
  return expand(sha256, prk, concatBytes(lengthBytes, HPKE_V1, SUITE_ID, utf8(label), info), length);
}

/** KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "") → AEAD key and base nonce. */
function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const pskIdHash = labeledExtract(EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(EMPTY, 'info_hash', info);
  const context = concatBytes(new Uint8Array([0]), pskIdHash, infoHash);
  const secret = labeledExtract(sharedSecret, 'secret', EMPTY);
  return {
    key: labeledExpand(secret, 'key', context, 32),
    nonce: labeledExpand(secret, 'base_nonce', context, 12),
  };
}

/** Seals `plaintext` (empty AAD) under the KEM shared secret. */
export function hpkeSeal(sharedSecret: Uint8Array, info: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { key, nonce } = keySchedule(sharedSecret, info);
  return chacha20poly1305(key, nonce).encrypt(plaintext);
}

/** Opens `ciphertext` (empty AAD); `undefined` if it does not authenticate. */
export function hpkeOpen(
  sharedSecret: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  const { key, nonce } = keySchedule(sharedSecret, info);
  try {
    return chacha20poly1305(key, nonce).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}
