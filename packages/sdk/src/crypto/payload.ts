import { InvalidCiphertextError } from '../errors/crypto.ts';
import { type CryptoBackend, getDefaultCryptoBackend } from './backend.ts';
import type { ChunkCipher } from './chunkCipher.ts';
import { hkdfSha256, randomBytes } from './primitives.ts';
import { FILE_KEY_LENGTH } from './recipient.ts';

/*
 * The age payload (https://age-encryption.org/v1, "Payload"): a 16-byte nonce,
 * then the plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
 * HKDF-SHA256(ikm = file key, salt = nonce, info = "payload"). The 12-byte
 * chunk nonce is an 11-byte big-endian counter and a last-chunk flag byte, so
 * truncation, reordering and extension all fail to authenticate. Only the
 * first chunk may be empty (an empty file).
 */
/** Plaintext bytes per chunk. */
export const CHUNK_SIZE = 65536;
/** Poly1305 tag bytes per chunk. */
export const TAG_SIZE = 16;
/** Ciphertext bytes of a full chunk. */
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
/** Bytes of the payload nonce at the start of the payload. */
export const PAYLOAD_NONCE_SIZE = 16;

/** Receives each output part in order; parts are fresh arrays the receiver may keep. */
export type Sink = (part: Uint8Array) => void;

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (fileKey.length !== FILE_KEY_LENGTH)
    throw new InvalidCiphertextError({ details: { reason: 'file key must be 16 bytes' } });
  return hkdfSha256(fileKey, nonce, 'payload', 32);
}

/** The 12-byte STREAM nonce: counter (big-endian, 11 bytes) then the last-chunk flag. */
class ChunkNonce {
  readonly bytes = new Uint8Array(12);
  increment(): void {
    for (let i = 10; i >= 0; i--) {
      const v = ((this.bytes[i] as number) + 1) & 255;
      this.bytes[i] = v;
      if (v !== 0) return;
    }
    throw new InvalidCiphertextError({ details: { reason: 'chunk counter overflow' } });
  }
  get isFirst(): boolean {
    for (let i = 0; i < 11; i++) if (this.bytes[i] !== 0) return false;
    return true;
  }
}

/**
 * Incremental STREAM encryption of one payload. Push plaintext of any size with
 * `write`, then call `end`; output parts (nonce first) go to the sink. Memory is
 * one chunk whatever the payload size. A full chunk is held back until more
 * data (or the end) says whether it is the last one.
 */
export class PayloadEncryptor {
  readonly #cipher: ChunkCipher;
  readonly #nonce = new ChunkNonce();
  readonly #buffer = new Uint8Array(CHUNK_SIZE);
  #buffered = 0;
  #payloadNonce: Uint8Array | undefined;
  #ended = false;

  /**
   * @param fileKey 16-byte file key.
   * @param options.nonce the 16-byte payload nonce (random by default; set only for test vectors).
   */
  constructor(fileKey: Uint8Array, options: { backend?: CryptoBackend; nonce?: Uint8Array } = {}) {
    const payloadNonce = options.nonce ?? randomBytes(PAYLOAD_NONCE_SIZE);
    this.#cipher = (options.backend ?? getDefaultCryptoBackend()).chunkCipher(
      payloadKey(fileKey, payloadNonce),
    );
    this.#payloadNonce = payloadNonce;
  }

  #seal(plaintext: Uint8Array, last: boolean, sink: Sink): void {
    if (this.#payloadNonce) {
      sink(this.#payloadNonce);
      this.#payloadNonce = undefined;
    }
    if (last) this.#nonce.bytes[11] = 1;
    for (const part of this.#cipher.seal(this.#nonce.bytes, plaintext)) sink(part);
    this.#nonce.increment();
  }

  /** Encrypts `data` (which the caller may reuse afterwards). */
  write(data: Uint8Array, sink: Sink): void {
    if (this.#ended) throw new Error('PayloadEncryptor.write after end');
    let off = 0;
    const n = data.length;
    if (n === 0) return;
    if (this.#buffered === CHUNK_SIZE) {
      this.#seal(this.#buffer, false, sink);
      this.#buffered = 0;
    }
    if (this.#buffered > 0) {
      const take = Math.min(CHUNK_SIZE - this.#buffered, n);
      this.#buffer.set(data.subarray(0, take), this.#buffered);
      this.#buffered += take;
      off = take;
      if (off === n) return;
      this.#seal(this.#buffer, false, sink); // full, and more data follows
      this.#buffered = 0;
    }
    // Seal whole chunks straight from the input while another byte follows them.
    while (n - off > CHUNK_SIZE) {
      this.#seal(data.subarray(off, off + CHUNK_SIZE), false, sink);
      off += CHUNK_SIZE;
    }
    this.#buffer.set(data.subarray(off), 0);
    this.#buffered = n - off;
  }

  /** Seals the last chunk (empty only for an empty payload). */
  end(sink: Sink): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#seal(this.#buffer.subarray(0, this.#buffered), true, sink);
  }
}

/**
 * Incremental STREAM decryption of one payload (nonce first). Plaintext is
 * released chunk by chunk, only after its tag verifies; any truncation,
 * reordering, empty non-final chunk or trailing data ends in
 * `InvalidCiphertextError` (plaintext already released stays released).
 */
export class PayloadDecryptor {
  readonly #fileKey: Uint8Array;
  readonly #backend: CryptoBackend;
  #cipher: ChunkCipher | undefined;
  readonly #payloadNonce = new Uint8Array(PAYLOAD_NONCE_SIZE);
  #nonceBytes = 0;
  readonly #nonce = new ChunkNonce();
  readonly #buffer = new Uint8Array(SEALED_CHUNK_SIZE);
  #buffered = 0;
  #failed = false;
  #done = false;

  constructor(fileKey: Uint8Array, options: { backend?: CryptoBackend } = {}) {
    this.#fileKey = fileKey;
    this.#backend = options.backend ?? getDefaultCryptoBackend();
  }

  /** Whether the whole 16-byte payload nonce has been read. */
  get hasNonce(): boolean {
    return this.#nonceBytes === PAYLOAD_NONCE_SIZE;
  }

  #fail(reason: string): never {
    this.#failed = true;
    throw new InvalidCiphertextError({ details: { reason } });
  }

  /**
   * Opens one chunk. A full-size chunk may be the last one: it is tried as a
   * middle chunk, then as the last (as age's reference reader does); after a
   * last chunk nothing may follow.
   */
  #open(sealed: Uint8Array, full: boolean, sink: Sink): void {
    const cipher = this.#cipher as ChunkCipher;
    const nonce = this.#nonce;
    let plaintext = full ? cipher.open(nonce.bytes, sealed) : undefined;
    if (!plaintext) {
      nonce.bytes[11] = 1;
      plaintext = cipher.open(nonce.bytes, sealed);
      if (!plaintext) this.#fail('chunk does not authenticate');
      if (plaintext.length === 0 && !nonce.isFirst) this.#fail('empty last chunk');
      this.#done = true;
    }
    nonce.increment();
    if (plaintext.length > 0) sink(plaintext);
  }

  /** Decrypts `data` (which the caller may reuse afterwards). */
  write(data: Uint8Array, sink: Sink): void {
    if (this.#failed) this.#fail('write after failure');
    let off = 0;
    const n = data.length;
    if (this.#nonceBytes < PAYLOAD_NONCE_SIZE) {
      const take = Math.min(PAYLOAD_NONCE_SIZE - this.#nonceBytes, n);
      this.#payloadNonce.set(data.subarray(0, take), this.#nonceBytes);
      this.#nonceBytes += take;
      off = take;
      if (this.#nonceBytes < PAYLOAD_NONCE_SIZE) return;
      this.#cipher = this.#backend.chunkCipher(payloadKey(this.#fileKey, this.#payloadNonce));
    }
    if (off === n) return;
    if (this.#done) this.#fail('data after the last chunk');
    if (this.#buffered > 0) {
      const take = Math.min(SEALED_CHUNK_SIZE - this.#buffered, n - off);
      this.#buffer.set(data.subarray(off, off + take), this.#buffered);
      this.#buffered += take;
      off += take;
      if (this.#buffered < SEALED_CHUNK_SIZE) return;
      this.#buffered = 0;
      this.#open(this.#buffer, true, sink);
      if (this.#done && off < n) this.#fail('data after the last chunk');
    }
    while (n - off >= SEALED_CHUNK_SIZE) {
      this.#open(data.subarray(off, off + SEALED_CHUNK_SIZE), true, sink);
      off += SEALED_CHUNK_SIZE;
      if (this.#done && off < n) this.#fail('data after the last chunk');
    }
    this.#buffer.set(data.subarray(off), 0);
    this.#buffered = n - off;
  }

  /** Opens the last (short) chunk; refuses a payload that ends early. */
  end(sink: Sink): void {
    if (this.#failed) this.#fail('end after failure');
    if (!this.hasNonce) this.#fail('payload shorter than its nonce');
    if (!this.#done) {
      if (this.#buffered === 0) this.#fail(this.#nonce.isFirst ? 'no chunk' : 'missing last chunk');
      this.#open(this.#buffer.subarray(0, this.#buffered), false, sink);
    }
    this.#failed = true; // nothing may follow
  }
}

/** Options of `encryptPayload`. */
export type EncryptPayloadParameters = {
  /** The plaintext (whole, in memory; use `PayloadEncryptor` or `encryptPayloadStream` to stream). */
  plaintext: Uint8Array;
  /** The 16-byte file key; a fresh random one by default. */
  fileKey?: Uint8Array;
  backend?: CryptoBackend;
};

/** Result of `encryptPayload`. */
export type EncryptPayloadReturnType = {
  /** The file key: wrap it with `wrapFileKey` for each reader, then forget it. */
  fileKey: Uint8Array;
  /** Payload nonce and STREAM chunks: what goes to the blob store. */
  payload: Uint8Array;
};

/** Returns fresh random 16-byte file key. */
export function generateFileKey(): Uint8Array {
  return randomBytes(FILE_KEY_LENGTH);
}

function collect(run: (sink: Sink) => void): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  run((p) => {
    parts.push(p);
    length += p.length;
  });
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Encrypts a payload alone, without a header: the blob to store. Wrap the
 * returned `fileKey` to each reader with `wrapFileKey`, and rebuild a full age
 * file with `assembleHeader`. The plaintext is whole in memory, so its chunks
 * are sealed straight into one output array of the final size (the same bytes
 * as `PayloadEncryptor`, without its 64 KiB staging buffer: an import seals
 * thousands of 4 kB records).
 * @example
 * const { fileKey, payload } = encryptPayload({ plaintext });
 * const stanza = await wrapFileKey({ fileKey, recipient });
 */
export function encryptPayload(parameters: EncryptPayloadParameters): EncryptPayloadReturnType {
  const fileKey = parameters.fileKey ?? generateFileKey();
  const { plaintext } = parameters;
  const payloadNonce = randomBytes(PAYLOAD_NONCE_SIZE);
  const cipher = (parameters.backend ?? getDefaultCryptoBackend()).chunkCipher(
    payloadKey(fileKey, payloadNonce),
  );
  // Only the first chunk may be empty; a last chunk may be full (nothing is held back: the end is known).
  const chunks = Math.max(1, Math.ceil(plaintext.length / CHUNK_SIZE));
  const payload = new Uint8Array(PAYLOAD_NONCE_SIZE + plaintext.length + chunks * TAG_SIZE);
  payload.set(payloadNonce, 0);
  const nonce = new ChunkNonce();
  let off = PAYLOAD_NONCE_SIZE;
  for (let i = 0; i < chunks; i++) {
    if (i === chunks - 1) nonce.bytes[11] = 1;
    const chunk = plaintext.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
    for (const part of cipher.seal(nonce.bytes, chunk)) {
      payload.set(part, off);
      off += part.length;
    }
    nonce.increment();
  }
  if (off !== payload.length) throw new Error('encryptPayload: the chunk cipher gave an unexpected length');
  return { fileKey, payload };
}

/** Options of `decryptPayload`. */
export type DecryptPayloadParameters = {
  fileKey: Uint8Array;
  /** Payload nonce and STREAM chunks, as `encryptPayload` returned them. */
  payload: Uint8Array;
  backend?: CryptoBackend;
};

/**
 * Decrypts a payload stored apart, given its file key (from `unwrapFileKey`).
 * @throws InvalidCiphertextError if the payload is truncated or tampered with.
 */
export function decryptPayload(parameters: DecryptPayloadParameters): Uint8Array {
  const options = parameters.backend ? { backend: parameters.backend } : {};
  const decryptor = new PayloadDecryptor(parameters.fileKey, options);
  return collect((sink) => {
    decryptor.write(parameters.payload, sink);
    decryptor.end(sink);
  });
}
