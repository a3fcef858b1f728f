/**
 * Node's half of the crypto backend: ChaCha20-Poly1305 and scrypt from OpenSSL
 * through `node:crypto`. Imported only by Node entry points (`./index.ts`).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  type KeyObject,
  randomFillSync,
  scrypt,
} from 'node:crypto';
import type { CryptoBackend, HashFunctions, X25519Functions } from '../backend.ts';
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

// Raw X25519 keys are imported as JWK (RFC 8037), not DER: OpenSSL 3.0's DER decoders cost ≈ 440 µs per private
// key and ≈ 90 µs per public key on the development machine, the JWK path ≈ 45 and ≈ 11 µs (it goes straight to
// EVP_PKEY_new_raw_*_key), which was the largest item of the import profile. Node requires `x` to be a string on a
// private JWK and derives the public key from `d` itself, so `x` is left empty there.
const base64url = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');

function x25519PrivateKey(scalar: Uint8Array): KeyObject {
  if (scalar.length !== 32) throw new RangeError('an X25519 scalar is 32 bytes');
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: base64url(scalar), x: '' }, format: 'jwk' });
}

// Public keys a wrap is made to, loaded once each (a large import wraps thousands of file keys to one patient):
// only public values are kept, the 64 used most recently.
const RECIPIENT_KEYS = 64;
const recipientKeys = new Map<string, KeyObject>();

function x25519PublicKeyObject(point: Uint8Array): KeyObject {
  const x = base64url(point);
  let key = recipientKeys.get(x);
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
    if (recipientKeys.size >= RECIPIENT_KEYS)
      recipientKeys.delete(recipientKeys.keys().next().value as string);
  } else recipientKeys.delete(x);
  recipientKeys.set(x, key);
  return key;
}

function publicKeyOf(privateKey: KeyObject): Uint8Array {
  const { x } = privateKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('OpenSSL gave no X25519 public key');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/** X25519 with a loaded private key; `undefined` for a point OpenSSL refuses or an all-zero result. */
function sharedSecretOf(privateKey: KeyObject, point: Uint8Array): Uint8Array | undefined {
  if (point.length !== 32) return undefined;
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519PublicKeyObject(point) });
  } catch {
    return undefined; // OpenSSL refuses an all-zero result
  }
  const bytes = new Uint8Array(shared.buffer, shared.byteOffset, shared.length);
  return bytes.every((b) => b === 0) ? undefined : bytes;
}

/**
 * X25519 from OpenSSL (≈ 50× noble's in Node): the same RFC 7748 function (both clamp the scalar). OpenSSL refuses
 * to derive an all-zero secret (a low-order point), which is the case age requires to be rejected.
 */
export const nodeX25519: X25519Functions = {
  publicKey: (scalar) => publicKeyOf(x25519PrivateKey(scalar)),
  sharedSecret: (scalar, point) =>
    point.length === 32 ? sharedSecretOf(x25519PrivateKey(scalar), point) : undefined,
  publicKeyAndSharedSecret(scalar, point) {
    const privateKey = x25519PrivateKey(scalar);
    return { publicKey: publicKeyOf(privateKey), sharedSecret: sharedSecretOf(privateKey, point) };
  },
};

const asBytes = (buffer: Buffer | ArrayBuffer): Uint8Array =>
  buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);

// Random bytes are drawn from OpenSSL's CSPRNG 4 KiB at a time (one call instead of one per key, nonce or salt: an
// import asks for five small values per record); each request gets a copy and its bytes are wiped from the pool.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

function nodeRandomBytes(length: number): Uint8Array {
  if (length > POOL_BYTES / 4) return asBytes(randomFillSync(Buffer.alloc(length)));
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + length);
  pool.fill(0, poolOffset, poolOffset + length);
  poolOffset += length;
  return out;
}

/**
 * HKDF-SHA256 (RFC 5869) as its HMACs: extract, then one expand block per 32 bytes. For age's 32-byte keys this is
 * two `createHmac` calls, ≈ 6 µs, where `hkdfSync` (which imports the key first) costs ≈ 12–17 µs and noble ≈ 13–22.
 */
function nodeHkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * 32) throw new RangeError('HKDF-SHA256 gives at most 8,160 bytes');
  const prk = createHmac('sha256', salt.length > 0 ? salt : ZERO_SALT)
    .update(ikm)
    .digest();
  const out = new Uint8Array(length);
  let block: Buffer = Buffer.alloc(0);
  for (let i = 0, at = 0; at < length; i++, at += 32) {
    block = createHmac('sha256', prk)
      .update(block)
      .update(info)
      .update(Uint8Array.of(i + 1))
      .digest();
    out.set(block.subarray(0, Math.min(32, length - at)), at);
  }
  prk.fill(0);
  block.fill(0);
  return out;
}
const ZERO_SALT = new Uint8Array(32);

/** HKDF, HMAC and SHA-256 from OpenSSL; random bytes from its CSPRNG. */
export const nodeHashes: HashFunctions = {
  hkdfSha256: nodeHkdf,
  hmacSha256: (key, message) => asBytes(createHmac('sha256', key).update(message).digest()),
  sha256: (message) => asBytes(createHash('sha256').update(message).digest()),
  randomBytes: nodeRandomBytes,
};

/** The native Node backend: OpenSSL ChaCha20-Poly1305, scrypt, X25519, HKDF/HMAC/SHA-256 and random bytes. */
export const nodeCryptoBackend: CryptoBackend = {
  name: 'node',
  chunkCipher: nodeChunkCipher,
  scrypt: nodeScrypt,
  x25519: nodeX25519,
  hashes: nodeHashes,
};
