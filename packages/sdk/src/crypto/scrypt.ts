import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { InvalidHeaderError, InvalidRecipientError } from '../errors/crypto.ts';
import type { CryptoBackend } from './backend.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { concatBytes, randomBytes, utf8 } from './primitives.ts';
import { FILE_KEY_LENGTH, type Identity, type Recipient } from './recipient.ts';
import type { Stanza } from './stanza.ts';

const LABEL = utf8('age-encryption.org/v1/scrypt');
const STANZA_TYPE = 'scrypt';
const ZERO_NONCE = new Uint8Array(12);
const SALT_LENGTH = 16;

/** Options of `ScryptRecipient`. */
export type ScryptRecipientParameters = {
  /** log2 of the scrypt work factor N (1–30). Default 18, as age: about a second, 256 MiB. */
  logN?: number;
};

/** Options of `ScryptIdentity`. */
export type ScryptIdentityParameters = {
  /** Largest log2(N) accepted when decrypting (default 22, as age); higher is refused as invalid header. */
  maxLogN?: number;
};

/**
 * A passphrase recipient (age `scrypt` stanza). An scrypt stanza must be the
 * only stanza of its file: combining it with other recipients is refused.
 */
export class ScryptRecipient implements Recipient {
  readonly stanzaType = STANZA_TYPE;
  readonly #passphrase: Uint8Array;
  readonly logN: number;

  /**
   * @throws InvalidRecipientError if the passphrase is empty or logN is out of range.
   * @example new ScryptRecipient('correct horse battery staple', { logN: 18 })
   */
  constructor(passphrase: string, { logN = 18 }: ScryptRecipientParameters = {}) {
    if (passphrase.length === 0) {
      throw new InvalidRecipientError({ hint: 'the passphrase must not be empty' });
    }
    if (!Number.isInteger(logN) || logN < 1 || logN > 30) {
      throw new InvalidRecipientError({ details: { logN }, hint: 'logN must be an integer from 1 to 30' });
    }
    this.#passphrase = utf8(passphrase);
    this.logN = logN;
  }

  async wrapFileKey(fileKey: Uint8Array, backend: CryptoBackend): Promise<Stanza> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await backend.scrypt(this.#passphrase, concatBytes(LABEL, salt), this.logN);
    const body = chacha20poly1305(key, ZERO_NONCE).encrypt(fileKey);
    return { type: STANZA_TYPE, args: [encodeBase64(salt), String(this.logN)], body };
  }
}

/** A passphrase identity: decrypts files made with `ScryptRecipient`. */
export class ScryptIdentity implements Identity {
  readonly stanzaType = STANZA_TYPE;
  readonly #passphrase: Uint8Array;
  readonly maxLogN: number;

  constructor(passphrase: string, { maxLogN = 22 }: ScryptIdentityParameters = {}) {
    this.#passphrase = utf8(passphrase);
    this.maxLogN = maxLogN;
  }

  async unwrapFileKey(stanzas: readonly Stanza[], backend: CryptoBackend): Promise<Uint8Array | undefined> {
    for (const stanza of stanzas) {
      if (stanza.type !== STANZA_TYPE) continue;
      if (stanzas.length !== 1) invalid('an scrypt stanza must be alone in its header');
      const [saltText, logNText, ...extra] = stanza.args;
      const salt = saltText === undefined ? undefined : decodeBase64(saltText);
      if (
        !salt ||
        salt.length !== SALT_LENGTH ||
        extra.length > 0 ||
        stanza.body.length !== FILE_KEY_LENGTH + 16
      ) {
        invalid('malformed scrypt stanza');
      }
      // Decimal, no sign, no leading zero (the spec's canonical form).
      if (logNText === undefined || !/^[1-9][0-9]?$/.test(logNText)) invalid('malformed scrypt work factor');
      const logN = Number(logNText);
      if (logN > this.maxLogN) invalid('scrypt work factor above maxLogN');
      const key = await backend.scrypt(this.#passphrase, concatBytes(LABEL, salt), logN);
      try {
        return chacha20poly1305(key, ZERO_NONCE).decrypt(stanza.body);
      } catch {
        // wrong passphrase
      }
    }
    return undefined;
  }
}

function invalid(reason: string): never {
  throw new InvalidHeaderError({ details: { reason } });
}
