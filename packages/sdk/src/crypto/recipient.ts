import type { CryptoBackend } from './backend.ts';
import type { Stanza } from './stanza.ts';

/**
 * Something a file key can be encrypted to: produces one stanza per file.
 * Built in: `X25519Recipient` (`age1...`), `ScryptRecipient` (passphrase),
 * `MlKem768X25519Recipient` (`age1pq1...`).
 */
export interface Recipient {
  /** The type of stanza this recipient writes ("X25519", "scrypt", ...). */
  readonly stanzaType: string;
  /** Wraps a 16-byte file key into a fresh stanza (fresh randomness every call). */
  wrapFileKey(fileKey: Uint8Array, backend: CryptoBackend): Promise<Stanza>;
}

/**
 * Something that can unwrap a file key from a header's stanzas. Stanzas of
 * other types are skipped, as the age spec requires.
 */
export interface Identity {
  /** The type of stanza this identity reads. */
  readonly stanzaType: string;
  /**
   * Returns the file key if one of `stanzas` is addressed to this identity,
   * `undefined` if none is.
   * @throws InvalidHeaderError if a stanza of this identity's type is malformed.
   */
  unwrapFileKey(stanzas: readonly Stanza[], backend: CryptoBackend): Promise<Uint8Array | undefined>;
}

/** The length in bytes of an age file key. */
export const FILE_KEY_LENGTH = 16;
