/**
 * Node's half of the crypto backend: ChaCha20-Poly1305 and scrypt from OpenSSL
 * through `node:crypto`. Imported only by Node entry points (`./index.ts`).
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, scrypt } from 'node:crypto';
import type { CryptoBackend } from '../backend.ts';
import type { ChunkCipher, ChunkCipherFactory } from '../chunkCipher.ts';

const ALGORITHM = 'chacha20-poly1305';
const TAG = 16;

/** The OpenSSL chunk cipher. One `createCipheriv` per 64 KiB chunk (the nonce changes). */
export const nodeChunkCipher: ChunkCipherFactory = (key: Uint8Array): ChunkCipher => {
  const keyObject: KeyObject = createSecretKey(key);
  return {
    seal(nonce, plaintext, aad) {
      const cipher = createCipheriv(ALGORITHM, keyObject, nonce, { authTagLength: TAG });
      if (aad) cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const ciphertext = cipher.update(plaintext);
      cipher.final();
      return [ciphertext, cipher.getAuthTag()];
    },
    open(nonce, sealed, aad) {
      if (sealed.length < TAG || nonce.length !== 12) return undefined;
      const decipher = createDecipheriv(ALGORITHM, keyObject, nonce, { authTagLength: TAG });
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      if (aad) decipher.setAAD(aad, { plaintextLength: sealed.length - TAG });
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
