/**
 * Small cryptographic helpers shared by the age implementation (internal).
 * HKDF and HMAC come from `@noble/hashes` in every runtime: they run once per
 * file or stanza, so native code would not change throughput.
 */
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** HKDF-SHA256 (RFC 5869). `salt` may be empty (then it is a zero block, per RFC). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number) {
  return nobleHkdf(sha256, ikm, salt, typeof info === 'string' ? utf8(info) : info, length);
}

/** HMAC-SHA256. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return nobleHmac(sha256, key, message);
}

/** Cryptographically secure random bytes (WebCrypto `getRandomValues`). */
export function randomBytes(length: number): Uint8Array {
  return nobleRandomBytes(length);
}

/** Compares two byte arrays in time independent of where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Is every byte zero? (constant time over the length) */
export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i] as number;
  return acc === 0;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
