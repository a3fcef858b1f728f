import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { bech32 } from '@scure/base';
import { InvalidHeaderError, InvalidIdentityError, InvalidRecipientError } from '../errors/crypto.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { hpkeOpen, hpkeSeal } from './hpke.ts';
import { randomBytes, utf8 } from './primitives.ts';
import { FILE_KEY_LENGTH, type Identity, type Recipient } from './recipient.ts';
import type { Stanza } from './stanza.ts';
import { decodeBech32 } from './x25519.ts';

/*
 * age's hybrid post-quantum recipient (C2SP age, "mlkem768x25519"): the file
 * key is sealed with HPKE base mode, KEM X-Wing (ML-KEM-768 + X25519), info
 * "age-encryption.org/mlkem768x25519". The stanza is
 * `-> mlkem768x25519 <base64 enc (1120 bytes)>` with a 32-byte body.
 */
const STANZA_TYPE = 'mlkem768x25519';
const INFO = utf8('age-encryption.org/mlkem768x25519');
const RECIPIENT_PREFIX = 'age1pq';
const IDENTITY_PREFIX = 'age-secret-key-pq-';
const {
  publicKey: PUBLIC_KEY_LENGTH,
  cipherText: ENC_LENGTH,
  seed: SEED_LENGTH,
} = ml_kem768_x25519.lengths as {
  publicKey: number;
  cipherText: number;
  seed: number;
};

/** A hybrid post-quantum recipient: an `age1pq1...` public key (1216 bytes). */
export class MlKem768X25519Recipient implements Recipient {
  readonly stanzaType = STANZA_TYPE;
  readonly publicKey: Uint8Array;

  /** @throws InvalidRecipientError if it is not a valid `age1pq1...` recipient. */
  constructor(recipient: string | Uint8Array) {
    if (typeof recipient === 'string') {
      const decoded = decodeBech32(recipient);
      if (
        !decoded ||
        decoded.prefix !== RECIPIENT_PREFIX ||
        decoded.data.length !== PUBLIC_KEY_LENGTH ||
        recipient !== recipient.toLowerCase()
      ) {
        throw new InvalidRecipientError({ details: { recipient: `${recipient.slice(0, 40)}...` } });
      }
      this.publicKey = decoded.data;
    } else {
      if (recipient.length !== PUBLIC_KEY_LENGTH)
        throw new InvalidRecipientError({ details: { length: recipient.length } });
      this.publicKey = Uint8Array.from(recipient);
    }
  }

  /** The `age1pq1...` encoding. */
  toString(): string {
    return bech32.encode(RECIPIENT_PREFIX, bech32.toWords(this.publicKey), false);
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza> {
    let encapsulated: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      encapsulated = ml_kem768_x25519.encapsulate(this.publicKey);
    } catch (cause) {
      throw new InvalidRecipientError({ cause, details: { reason: 'unusable hybrid public key' } });
    }
    const body = hpkeSeal(encapsulated.sharedSecret, INFO, fileKey);
    return { type: STANZA_TYPE, args: [encodeBase64(encapsulated.cipherText)], body };
  }
}

/** A hybrid post-quantum identity: an `AGE-SECRET-KEY-PQ-1...` 32-byte seed. */
export class MlKem768X25519Identity implements Identity {
  readonly stanzaType = STANZA_TYPE;
  readonly #seed: Uint8Array;

  /** @throws InvalidIdentityError if it is not a valid hybrid identity (the input is never quoted). */
  constructor(identity: string | Uint8Array) {
    let seed: Uint8Array;
    if (typeof identity === 'string') {
      const decoded = decodeBech32(identity);
      if (!decoded || decoded.prefix !== IDENTITY_PREFIX || decoded.data.length !== SEED_LENGTH) {
        throw new InvalidIdentityError();
      }
      seed = decoded.data;
    } else {
      if (identity.length !== SEED_LENGTH) throw new InvalidIdentityError();
      seed = Uint8Array.from(identity);
    }
    this.#seed = seed;
  }

  /** Generates a fresh random identity. */
  static generate(): MlKem768X25519Identity {
    return new MlKem768X25519Identity(randomBytes(SEED_LENGTH));
  }

  /** The matching recipient. */
  get recipient(): MlKem768X25519Recipient {
    return new MlKem768X25519Recipient(ml_kem768_x25519.getPublicKey(this.#seed));
  }

  /** The `AGE-SECRET-KEY-PQ-1...` encoding. Treat it as a secret. */
  toString(): string {
    return bech32.encode(IDENTITY_PREFIX, bech32.toWords(this.#seed), false).toUpperCase();
  }

  async unwrapFileKey(stanzas: readonly Stanza[]): Promise<Uint8Array | undefined> {
    for (const stanza of stanzas) {
      if (stanza.type !== STANZA_TYPE) continue;
      const [encText, ...extra] = stanza.args;
      const enc = encText === undefined ? undefined : decodeBase64(encText);
      if (
        !enc ||
        enc.length !== ENC_LENGTH ||
        extra.length > 0 ||
        stanza.body.length !== FILE_KEY_LENGTH + 16
      ) {
        throw new InvalidHeaderError({ details: { reason: 'malformed mlkem768x25519 stanza' } });
      }
      let shared: Uint8Array;
      try {
        shared = ml_kem768_x25519.decapsulate(enc, this.#seed);
      } catch (cause) {
        // noble refuses an X25519 share whose shared secret is all zero (low order)
        throw new InvalidHeaderError({
          cause,
          details: { reason: 'mlkem768x25519 share is a low-order point' },
        });
      }
      const fileKey = hpkeOpen(shared, INFO, stanza.body);
      if (fileKey) return fileKey;
    }
    return undefined;
  }
}
