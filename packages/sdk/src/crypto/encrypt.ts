import { InvalidRecipientError, UnsupportedRecipientError } from '../errors/crypto.ts';
import { ArmorEncoder } from './armor.ts';
import { assembleHeader } from './assembleHeader.ts';
import { type CryptoBackend, getDefaultCryptoBackend } from './backend.ts';
import { generateFileKey, PayloadEncryptor, type Sink } from './payload.ts';
import type { Recipient } from './recipient.ts';

/** Options of `encrypt`, `encryptStream` and `Encryptor.create`. */
export type EncryptParameters = {
  /** One or more recipients; a `ScryptRecipient` must be the only one. */
  recipients: readonly Recipient[];
  /** Write ASCII armor (PEM-like text) instead of binary. Default false. */
  armor?: boolean;
  /** Crypto backend; the default is noble, or Node's after importing `@carekey/sdk/crypto/node`. */
  backend?: CryptoBackend;
};

/**
 * Streaming age encryption with constant memory: `Encryptor.create`, then
 * `write` any number of times and `end`; the age file comes out through the
 * sink in order (header first). Use `encryptStream` for web streams.
 */
export class Encryptor {
  readonly #payload: PayloadEncryptor;
  readonly #armor: ArmorEncoder | undefined;
  #header: Uint8Array | undefined;

  private constructor(header: Uint8Array, payload: PayloadEncryptor, armor: ArmorEncoder | undefined) {
    this.#header = header;
    this.#payload = payload;
    this.#armor = armor;
  }

  /**
   * Draws a fresh file key and wraps it to every recipient.
   * @throws InvalidRecipientError if there is no recipient.
   * @throws UnsupportedRecipientError if a passphrase recipient is combined with others.
   */
  static async create(parameters: EncryptParameters): Promise<Encryptor> {
    const { recipients } = parameters;
    const backend = parameters.backend ?? getDefaultCryptoBackend();
    if (recipients.length === 0) throw new InvalidRecipientError({ hint: 'give at least one recipient' });
    if (recipients.length > 1 && recipients.some((r) => r.stanzaType === 'scrypt')) {
      throw new UnsupportedRecipientError({
        hint: 'a passphrase (scrypt) recipient must be the only recipient',
      });
    }
    const fileKey = generateFileKey();
    const stanzas = await Promise.all(recipients.map((r) => r.wrapFileKey(fileKey, backend)));
    const header = assembleHeader({ fileKey, stanzas });
    const payload = new PayloadEncryptor(fileKey, { backend });
    fileKey.fill(0);
    return new Encryptor(header, payload, parameters.armor ? new ArmorEncoder() : undefined);
  }

  #out(sink: Sink): Sink {
    const armor = this.#armor;
    const out: Sink = armor ? (part) => armor.write(part, sink) : sink;
    if (this.#header) {
      out(this.#header);
      this.#header = undefined;
    }
    return out;
  }

  /** Encrypts more plaintext (the caller may reuse `data` afterwards). */
  write(data: Uint8Array, sink: Sink): void {
    this.#payload.write(data, this.#out(sink));
  }

  /** Finishes the file (last chunk, armor footer). */
  end(sink: Sink): void {
    this.#payload.end(this.#out(sink));
    this.#armor?.end(sink);
  }
}

/**
 * Encrypts a whole plaintext in memory to an age file (binary, or armored
 * text as UTF-8 bytes when `armor` is set).
 * @example
 * const file = await encrypt({ recipients: [new X25519Recipient('age1...')], plaintext });
 */
export async function encrypt(
  parameters: EncryptParameters & { plaintext: Uint8Array | string },
): Promise<Uint8Array> {
  const encryptor = await Encryptor.create(parameters);
  const plaintext =
    typeof parameters.plaintext === 'string'
      ? new TextEncoder().encode(parameters.plaintext)
      : parameters.plaintext;
  const parts: Uint8Array[] = [];
  const sink = (p: Uint8Array) => parts.push(p);
  encryptor.write(plaintext, sink);
  encryptor.end(sink);
  return concatParts(parts);
}

/**
 * A web `TransformStream` that age-encrypts what flows through it, with
 * constant memory for any size.
 * @example
 * await plaintextStream.pipeThrough(encryptStream({ recipients })).pipeTo(destination);
 */
export function encryptStream(parameters: EncryptParameters): TransformStream<Uint8Array, Uint8Array> {
  let encryptor: Encryptor;
  return new TransformStream<Uint8Array, Uint8Array>({
    async start() {
      encryptor = await Encryptor.create(parameters);
    },
    transform(chunk, controller) {
      encryptor.write(chunk, (p) => controller.enqueue(p));
    },
    flush(controller) {
      encryptor.end((p) => controller.enqueue(p));
    },
  });
}

/** @internal */
export function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}
