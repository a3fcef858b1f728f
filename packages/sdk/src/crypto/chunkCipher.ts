import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

/**
 * One ChaCha20-Poly1305 key, used to seal and open the 64 KiB chunks of an age
 * payload (RFC 8439, 12-byte nonce, 16-byte tag). Two implementations exist:
 * `nobleChunkCipher` (pure JS, every runtime) and the Node one in
 * `crypto/node/nodeBackend.ts` (OpenSSL through `node:crypto`).
 *
 * Contract: `seal` returns parts whose concatenation is `ciphertext || tag`;
 * `open` returns the plaintext, or `undefined` if the tag does not verify (no
 * byte of an unauthenticated chunk is ever returned). Returned arrays are fresh
 * (never alias the input), so callers may reuse their input buffers.
 */
export type ChunkCipher = {
  /** Encrypts; `aad` (additional data) is unused by age and exists for the AEAD test vectors. */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array[];
  /** Decrypts and verifies; `undefined` on any failure (bad tag, bad nonce length, too short). */
  open(nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined;
};

/** Builds a `ChunkCipher` for a 32-byte key. */
export type ChunkCipherFactory = (key: Uint8Array) => ChunkCipher;

/** The pure-JS chunk cipher (`@noble/ciphers`), used in browsers. */
export const nobleChunkCipher: ChunkCipherFactory = (key) => ({
  seal(nonce, plaintext, aad) {
    return [chacha20poly1305(key, nonce, aad).encrypt(plaintext)];
  },
  open(nonce, sealed, aad) {
    if (sealed.length < 16) return undefined;
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(sealed);
    } catch {
      return undefined;
    }
  },
});
