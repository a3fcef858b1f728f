/**
 * Small cryptographic helpers shared by the age implementation (internal).
 * HKDF, HMAC, SHA-256 and random bytes come from the default backend's `hashes` when it has them (the Node backend:
 * OpenSSL), else from `@noble/hashes`: they run a few times per file or stanza, which adds up over an import of
 * thousands of records.
 */
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { getDefaultCryptoBackend } from './backend.ts';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** HKDF-SHA256 (RFC 5869). `salt` may be empty (then it is a zero block, per RFC). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number) {
  const infoBytes = typeof info === 'string' ? utf8(info) : info;
  const native = getDefaultCryptoBackend().hashes;
  return native
    ? native.hkdfSha256(ikm, salt, infoBytes, length)
    : nobleHkdf(sha256, ikm, salt, infoBytes, length);
}

/** HMAC-SHA256. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const native = getDefaultCryptoBackend().hashes;
  return native ? native.hmacSha256(key, message) : nobleHmac(sha256, key, message);
}

/** SHA-256. */
export function sha256Digest(message: Uint8Array): Uint8Array {
  const native = getDefaultCryptoBackend().hashes;
  return native ? native.sha256(message) : sha256(message);
}

/** Cryptographically secure random bytes (the backend's, else WebCrypto `getRandomValues`). */
export function randomBytes(length: number): Uint8Array {
  const native = getDefaultCryptoBackend().hashes;
  return native ? native.randomBytes(length) : nobleRandomBytes(length);
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
