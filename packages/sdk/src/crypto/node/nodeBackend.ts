/**
 * Node's half of the crypto backend: ChaCha20-Poly1305 and scrypt from OpenSSL
 * through `node:crypto`. Imported only by Node entry points (`./index.ts`).
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, scrypt } from 'node:crypto';
import type { CryptoBackend } from '../backend.ts';
import type { ChunkCipher, ChunkCipherFactory } from '../chunkCipher.ts';

const ALGORITHM = 'chacha20-poly1305';
const TAG = 16;

/**
 * The OpenSSL chunk cipher. One `createCipheriv` per 64 KiB chunk (the nonce
 * changes); a `KeyObject` avoids re-importing the key each time.
 */
export const nodeChunkCipher: ChunkCipherFactory = (key: Uint8Array): ChunkCipher => {
  const keyObject: KeyObject = createSecretKey(key);
  const sealOne = (n: Uint8Array, plaintext: Uint8Array): [Uint8Array, Uint8Array] => {
    const cipher = createCipheriv(ALGORITHM, keyObject, n, { authTagLength: TAG });
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    return [ciphertext, cipher.getAuthTag()];
  };
  const openOne = (n: Uint8Array, sealed: Uint8Array): Uint8Array | undefined => {
    const decipher = createDecipheriv(ALGORITHM, keyObject, n, { authTagLength: TAG });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG));
    try {
      decipher.final();
    } catch {
      return undefined; // the tag did not verify: drop the unauthenticated plaintext
    }
    return plaintext;
  };
  return {
    seal(chunkNonce, plaintext, aad) {
      if (!aad) return sealOne(chunkNonce, plaintext);
      const cipher = createCipheriv(ALGORITHM, keyObject, chunkNonce, { authTagLength: TAG });
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const ciphertext = cipher.update(plaintext);
      cipher.final();
      return [ciphertext, cipher.getAuthTag()];
    },
    open(chunkNonce, sealed, aad) {
      if (sealed.length < TAG || chunkNonce.length !== 12) return undefined;
      if (!aad) return openOne(chunkNonce, sealed);
      const decipher = createDecipheriv(ALGORITHM, keyObject, chunkNonce, { authTagLength: TAG });
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      decipher.setAAD(aad, { plaintextLength: sealed.length - TAG });
      const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG));
      try {
        decipher.final();
      } catch {
        return undefined; // the tag did not verify: drop the unauthenticated plaintext
      }
      return plaintext;
    },
  };
};

/** scrypt (r = 8, p = 1, 32 bytes) on libuv's thread pool. */
function nodeScrypt(passphrase: Uint8Array, salt: Uint8Array, logN: number): Promise<Uint8Array> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    // maxmem must cover 128·N·r bytes plus OpenSSL's own slack.
    scrypt(passphrase, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 + 2 ** 20 }, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.length)),
    );
  });
}

/** The native Node backend: OpenSSL ChaCha20-Poly1305 and scrypt. */
export const nodeCryptoBackend: CryptoBackend = {
  name: 'node',
  chunkCipher: nodeChunkCipher,
  scrypt: nodeScrypt,
};
