import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { bech32 } from '@scure/base';
import { InvalidHeaderError, InvalidIdentityError, InvalidRecipientError } from '../errors/crypto.ts';
import { getDefaultCryptoBackend } from './backend.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { concatBytes, hkdfSha256, isAllZero, randomBytes } from './primitives.ts';
import { FILE_KEY_LENGTH, type Identity, type Recipient } from './recipient.ts';
import type { Stanza } from './stanza.ts';

const LABEL = 'age-encryption.org/v1/X25519';
const STANZA_TYPE = 'X25519';
const ZERO_NONCE = new Uint8Array(12);
const RECIPIENT_PREFIX = 'age';
const IDENTITY_PREFIX = 'age-secret-key-';

/**
 * X25519(scalar, point), or `undefined` when the result is the all-zero value
 * (a low-order or identity point), which age requires to be rejected.
 */
export function x25519SharedSecret(scalar: Uint8Array, point: Uint8Array): Uint8Array | undefined {
  const native = getDefaultCryptoBackend().x25519;
  if (native !== undefined) return native.sharedSecret(scalar, point);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(scalar, point);
  } catch {
    return undefined; // noble refuses low-order points, whose result is all zero
  }
  return isAllZero(shared) ? undefined : shared;
}

/** X25519(scalar, basepoint): the public key of a secret (the installed backend's, else noble's). */
function x25519PublicKey(scalar: Uint8Array): Uint8Array {
  return (getDefaultCryptoBackend().x25519?.publicKey ?? x25519.getPublicKey)(scalar);
}

/** Decodes bech32 (no 90-character limit, as age keys exceed it for PQ keys). */
export function decodeBech32(text: string): { prefix: string; data: Uint8Array } | undefined {
  try {
    const { prefix, words } = bech32.decode(text as `${string}1${string}`, false);
    return { prefix, data: bech32.fromWords(words) };
  } catch {
    return undefined;
  }
}

/** An X25519 age recipient: an `age1...` public key. */
export class X25519Recipient implements Recipient {
  readonly stanzaType = STANZA_TYPE;
  /** The 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;

  /**
   * @param recipient `age1...` string or 32 raw public-key bytes.
   * @throws InvalidRecipientError if it is not a valid X25519 age recipient.
   */
  constructor(recipient: string | Uint8Array) {
    if (typeof recipient === 'string') {
      const decoded = decodeBech32(recipient);
      if (
        !decoded ||
        decoded.prefix !== RECIPIENT_PREFIX ||
        decoded.data.length !== 32 ||
        recipient !== recipient.toLowerCase()
      ) {
        throw new InvalidRecipientError({ details: { recipient: recipient.slice(0, 100) } });
      }
      this.publicKey = decoded.data;
    } else {
      if (recipient.length !== 32) throw new InvalidRecipientError({ details: { length: recipient.length } });
      this.publicKey = Uint8Array.from(recipient);
    }
  }

  /** The `age1...` encoding. */
  toString(): string {
    return bech32.encode(RECIPIENT_PREFIX, bech32.toWords(this.publicKey), false);
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza> {
    const ephemeral = randomBytes(32);
    const both = getDefaultCryptoBackend().x25519?.publicKeyAndSharedSecret?.(ephemeral, this.publicKey);
    const share = both?.publicKey ?? x25519PublicKey(ephemeral);
    const shared = both === undefined ? x25519SharedSecret(ephemeral, this.publicKey) : both.sharedSecret;
    ephemeral.fill(0);
    if (!shared) throw new InvalidRecipientError({ details: { reason: 'low-order public key' } });
    const key = hkdfSha256(shared, concatBytes(share, this.publicKey), LABEL, 32);
    // noble's ChaCha20-Poly1305 even in Node: for a 16-byte file key OpenSSL's cipher set-up costs more (≈ 8.6 vs 6.2 µs).
    const body = chacha20poly1305(key, ZERO_NONCE).encrypt(fileKey);
    return { type: STANZA_TYPE, args: [encodeBase64(share)], body };
  }
}

/** An X25519 age identity: an `AGE-SECRET-KEY-1...` secret key. */
export class X25519Identity implements Identity {
  readonly stanzaType = STANZA_TYPE;
  readonly #secretKey: Uint8Array;
  readonly #publicKey: Uint8Array;

  /**
   * @param identity `AGE-SECRET-KEY-1...` string or 32 raw secret-key bytes.
   * @throws InvalidIdentityError if it is not a valid X25519 age identity (the input is never quoted).
   */
  constructor(identity: string | Uint8Array) {
    let secret: Uint8Array;
    if (typeof identity === 'string') {
      const decoded = decodeBech32(identity);
      if (!decoded || decoded.prefix !== IDENTITY_PREFIX || decoded.data.length !== 32) {
        throw new InvalidIdentityError();
      }
      secret = decoded.data;
    } else {
      if (identity.length !== 32) throw new InvalidIdentityError();
      secret = Uint8Array.from(identity);
    }
    this.#secretKey = secret;
    this.#publicKey = x25519PublicKey(secret);
  }

  /** Generates a fresh random identity. */
  static generate(): X25519Identity {
    return new X25519Identity(randomBytes(32));
  }

  /** The matching recipient (public key). */
  get recipient(): X25519Recipient {
    return new X25519Recipient(this.#publicKey);
  }

  /** The `AGE-SECRET-KEY-1...` encoding. Treat it as a secret. */
  toString(): string {
    return bech32.encode(IDENTITY_PREFIX, bech32.toWords(this.#secretKey), false).toUpperCase();
  }

  async unwrapFileKey(stanzas: readonly Stanza[]): Promise<Uint8Array | undefined> {
    for (const stanza of stanzas) {
      if (stanza.type !== STANZA_TYPE) continue;
      const [shareText, ...extra] = stanza.args;
      const share = shareText === undefined ? undefined : decodeBase64(shareText);
      if (share?.length !== 32 || extra.length > 0 || stanza.body.length !== FILE_KEY_LENGTH + 16) {
        throw new InvalidHeaderError({ details: { reason: 'malformed X25519 stanza' } });
      }
      const shared = x25519SharedSecret(this.#secretKey, share);
      if (!shared) throw new InvalidHeaderError({ details: { reason: 'X25519 share is a low-order point' } });
      const key = hkdfSha256(shared, concatBytes(share, this.#publicKey), LABEL, 32);
      try {
        return chacha20poly1305(key, ZERO_NONCE).decrypt(stanza.body);
      } catch {
        // not addressed to us: try the next stanza
      }
    }
    return undefined;
  }
}
