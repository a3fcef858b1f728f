import { UnsupportedRecipientError } from '../errors/crypto.ts';
import { type CryptoBackend, getDefaultCryptoBackend } from './backend.ts';
import { FILE_KEY_LENGTH, type Recipient } from './recipient.ts';
import type { Stanza } from './stanza.ts';

/** Options of `wrapFileKey`. */
export type WrapFileKeyParameters = {
  /** The 16-byte file key of one payload. */
  fileKey: Uint8Array;
  /** Who may read it. */
  recipient: Recipient;
  backend?: CryptoBackend;
};

/**
 * Wraps a file key to one recipient: one stanza, e.g. the envelope the key
 * vault stores for one (record, reader) pair. Store it with `encodeStanza`.
 * @throws UnsupportedRecipientError if the file key is not 16 bytes.
 * @example
 * const stanza = await wrapFileKey({ fileKey, recipient: new X25519Recipient('age1...') });
 */
export async function wrapFileKey(parameters: WrapFileKeyParameters): Promise<Stanza> {
  if (parameters.fileKey.length !== FILE_KEY_LENGTH) {
    throw new UnsupportedRecipientError({ details: { reason: 'file key must be 16 bytes' } });
  }
  return parameters.recipient.wrapFileKey(
    parameters.fileKey,
    parameters.backend ?? getDefaultCryptoBackend(),
  );
}
