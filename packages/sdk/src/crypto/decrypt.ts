import { HeaderMacMismatchError, InvalidHeaderError } from '../errors/crypto.ts';
import { ArmorDecoder } from './armor.ts';
import { type CryptoBackend, getDefaultCryptoBackend } from './backend.ts';
import { concatParts } from './encrypt.ts';
import { computeHeaderMac, findHeaderEnd, type Header, parseHeader } from './header.ts';
import { PayloadDecryptor, type Sink } from './payload.ts';
import { constantTimeEqual } from './primitives.ts';
import type { Identity } from './recipient.ts';
import { unwrapFileKey } from './unwrapFileKey.ts';

/** Largest header accepted, so a hostile file cannot make the reader buffer without bound. */
const MAX_HEADER_SIZE = 8 * 1024 * 1024;

/** Options of `decrypt`, `decryptStream` and `Decryptor`. */
export type DecryptParameters = {
  /** The reader's identities (`X25519Identity`, `ScryptIdentity`, ...), tried in order. */
  identities: readonly Identity[];
  /**
   * Armor handling: `'auto'` (default) reads binary if the file starts with
   * "a" (as "age-encryption.org/v1" does) and armor otherwise; `true` requires
   * armor, `false` requires binary.
   */
  armor?: boolean | 'auto';
  backend?: CryptoBackend;
};

/**
 * Streaming age decryption with constant memory. `write` ciphertext in pieces
 * of any size, then `end`; verified plaintext comes out through the sink chunk
 * by chunk. Errors: `InvalidArmorError`, `InvalidHeaderError`,
 * `NoIdentityMatchError`, `HeaderMacMismatchError`, `InvalidCiphertextError`.
 * Plaintext released before an `InvalidCiphertextError` was authentic, but
 * the file as a whole is not: discard it.
 */
export class Decryptor {
  readonly #identities: readonly Identity[];
  readonly #backend: CryptoBackend;
  #armorMode: boolean | 'auto';
  #armor: ArmorDecoder | undefined;
  #headerBuffer = new Uint8Array(4096);
  #headerLength = 0;
  #payload: PayloadDecryptor | undefined;
  #header: Header | undefined;
  #scan = 0;

  constructor(parameters: DecryptParameters) {
    this.#identities = parameters.identities;
    this.#backend = parameters.backend ?? getDefaultCryptoBackend();
    this.#armorMode = parameters.armor ?? 'auto';
    if (this.#armorMode === true) this.#armor = new ArmorDecoder();
  }

  /** The parsed header, once it has been read and authenticated. */
  get header(): Header | undefined {
    return this.#header;
  }

  /** Decrypts more ciphertext (the caller may reuse `data` afterwards). */
  async write(data: Uint8Array, sink: Sink): Promise<void> {
    if (this.#armorMode === 'auto') {
      if (data.length === 0) return;
      // A binary age file starts with "age-encryption.org/v1"; anything else is read as armor.
      this.#armorMode = data[0] !== 0x61;
      if (this.#armorMode) this.#armor = new ArmorDecoder();
    }
    if (this.#armor) {
      const decoded: Uint8Array[] = [];
      this.#armor.write(data, (p) => decoded.push(p));
      for (const p of decoded) await this.#binary(p, sink);
    } else {
      await this.#binary(data, sink);
    }
  }

  async #binary(data: Uint8Array, sink: Sink): Promise<void> {
    if (this.#payload) {
      this.#payload.write(data, sink);
      return;
    }
    if (data.length === 0) return;
    const take = Math.min(data.length, MAX_HEADER_SIZE + 1 - this.#headerLength);
    if (this.#headerLength + take > this.#headerBuffer.length) {
      const grown = new Uint8Array(
        Math.min(MAX_HEADER_SIZE + 1, Math.max(this.#headerBuffer.length * 2, this.#headerLength + take)),
      );
      grown.set(this.#headerBuffer.subarray(0, this.#headerLength));
      this.#headerBuffer = grown;
    }
    this.#headerBuffer.set(data.subarray(0, take), this.#headerLength);
    this.#headerLength += take;
    const buffered = this.#headerBuffer.subarray(0, this.#headerLength);
    const { end, resume } = findHeaderEnd(buffered, this.#scan);
    this.#scan = resume;
    if (end < 0) {
      if (this.#headerLength > MAX_HEADER_SIZE)
        throw new InvalidHeaderError({ details: { reason: 'header too large' } });
      return;
    }
    await this.#openHeader(buffered.subarray(0, end));
    const payload = this.#payload as unknown as PayloadDecryptor;
    // bytes after the header: those buffered, then the rest of `data`
    payload.write(buffered.subarray(end), sink);
    if (take < data.length) payload.write(data.subarray(take), sink);
    this.#headerBuffer = new Uint8Array(0);
    this.#headerLength = 0;
  }

  async #openHeader(bytes: Uint8Array): Promise<void> {
    const header = parseHeader(bytes);
    if (header.length !== bytes.length)
      throw new InvalidHeaderError({ details: { reason: 'bad header end' } });
    const fileKey = await unwrapFileKey({
      stanzas: header.stanzas,
      identities: this.#identities,
      backend: this.#backend,
    });
    if (!constantTimeEqual(computeHeaderMac(fileKey, header.macInput), header.mac))
      throw new HeaderMacMismatchError();
    this.#header = header;
    this.#payload = new PayloadDecryptor(fileKey, { backend: this.#backend });
  }

  /** Ends the input; throws if the file is incomplete. */
  async end(sink: Sink): Promise<void> {
    if (this.#armorMode === 'auto') {
      // no byte at all: not a file
      throw new InvalidHeaderError({ details: { reason: 'empty file' } });
    }
    if (this.#armor) {
      const decoded: Uint8Array[] = [];
      this.#armor.end((p) => decoded.push(p));
      for (const p of decoded) await this.#binary(p, sink);
    }
    if (!this.#payload) throw new InvalidHeaderError({ details: { reason: 'truncated header' } });
    // A missing or short payload nonce is a header error, as the age test kit expects.
    if (!this.#payload.hasNonce)
      throw new InvalidHeaderError({ details: { reason: 'missing payload nonce' } });
    this.#payload.end(sink);
  }
}

/**
 * Decrypts a whole age file in memory (binary or armored).
 * @throws see `Decryptor`.
 * @example
 * const plaintext = await decrypt({ identities: [new X25519Identity('AGE-SECRET-KEY-1...')], ciphertext });
 */
export async function decrypt(
  parameters: DecryptParameters & { ciphertext: Uint8Array | string },
): Promise<Uint8Array> {
  const decryptor = new Decryptor(parameters);
  const ciphertext =
    typeof parameters.ciphertext === 'string'
      ? new TextEncoder().encode(parameters.ciphertext)
      : parameters.ciphertext;
  const parts: Uint8Array[] = [];
  const sink = (p: Uint8Array) => parts.push(p);
  await decryptor.write(ciphertext, sink);
  await decryptor.end(sink);
  return concatParts(parts);
}

/**
 * A web `TransformStream` that decrypts an age file flowing through it with
 * constant memory. The readable side errors if the file is not authentic;
 * anything it already emitted must then be discarded.
 */
export function decryptStream(parameters: DecryptParameters): TransformStream<Uint8Array, Uint8Array> {
  const decryptor = new Decryptor(parameters);
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      await decryptor.write(chunk, (p) => controller.enqueue(p));
    },
    async flush(controller) {
      await decryptor.end((p) => controller.enqueue(p));
    },
  });
}
