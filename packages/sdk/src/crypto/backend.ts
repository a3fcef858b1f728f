import { scryptAsync } from '@noble/hashes/scrypt.js';
import { type ChunkCipherFactory, nobleChunkCipher } from './chunkCipher.ts';

/**
 * The runtime-specific half of the crypto: the bulk payload cipher and scrypt.
 * The core never imports Node modules; `@carekey/sdk/crypto/node` provides
 * `nodeCryptoBackend` (OpenSSL via `node:crypto`) and installs it as the
 * default when imported. Every high-level function also takes `backend`.
 */
export type CryptoBackend = {
  /** Short name for logs and benchmarks, e.g. "noble" or "node". */
  readonly name: string;
  /** Builds the payload chunk cipher for a 32-byte key. */
  readonly chunkCipher: ChunkCipherFactory;
  /** scrypt(passphrase, salt, N = 2^logN, r = 8, p = 1) → 32 bytes. */
  readonly scrypt: (passphrase: Uint8Array, salt: Uint8Array, logN: number) => Promise<Uint8Array>;
  /**
   * X25519 (RFC 7748) for the age X25519 stanzas; when absent, noble's. `sharedSecret` returns `undefined` for an
   * all-zero result (a low-order point), which age requires to be refused.
   */
  readonly x25519?: X25519Functions | undefined;
  /**
   * HKDF-SHA256, HMAC-SHA256, SHA-256 and secure random bytes; each, when absent, `@noble/hashes`' (and WebCrypto's
   * `getRandomValues`). An import runs a few of them per record (payload key, header MAC, stanza key), so a native
   * version counts there (docs/fhir.md §12).
   */
  readonly hashes?: HashFunctions | undefined;
};

/** The hashing and random-byte functions of {@link CryptoBackend.hashes}. */
export type HashFunctions = {
  hkdfSha256: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array;
  hmacSha256: (key: Uint8Array, message: Uint8Array) => Uint8Array;
  sha256: (message: Uint8Array) => Uint8Array;
  /** `length` fresh random bytes from a CSPRNG, in an array the caller owns (it may zero it). */
  randomBytes: (length: number) => Uint8Array;
};

/** The two X25519 operations an age X25519 recipient and identity use. */
export type X25519Functions = {
  publicKey: (scalar: Uint8Array) => Uint8Array;
  sharedSecret: (scalar: Uint8Array, point: Uint8Array) => Uint8Array | undefined;
  /**
   * Both at once for a wrap's ephemeral scalar (`publicKey(scalar)` and `sharedSecret(scalar, point)`), when the
   * backend can load the scalar once for the two.
   */
  publicKeyAndSharedSecret?: (
    scalar: Uint8Array,
    point: Uint8Array,
  ) => { publicKey: Uint8Array; sharedSecret: Uint8Array | undefined };
};

/** Pure-JS backend (`@noble/ciphers`, `@noble/hashes`), works in every runtime. */
export const nobleCryptoBackend: CryptoBackend = {
  name: 'noble',
  chunkCipher: nobleChunkCipher,
  scrypt: (passphrase, salt, logN) =>
    scryptAsync(passphrase, salt, { N: 2 ** logN, r: 8, p: 1, dkLen: 32, maxmem: 2 ** (logN + 11) }),
};

let current: CryptoBackend = nobleCryptoBackend;

/** The backend used when a call passes none (noble until another is installed). */
export function getDefaultCryptoBackend(): CryptoBackend {
  return current;
}

/**
 * Installs the backend used when a call passes none. Importing
 * `@carekey/sdk/crypto/node` does this with the native Node backend.
 */
export function setDefaultCryptoBackend(backend: CryptoBackend): void {
  current = backend;
}
