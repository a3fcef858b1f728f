import { UnsupportedRecipientError } from '../errors/crypto.ts';
import { encodeHeader } from './header.ts';
import { FILE_KEY_LENGTH } from './recipient.ts';
import type { Stanza } from './stanza.ts';

/** Options of `assembleHeader`. */
export type AssembleHeaderParameters = {
  /** The payload's 16-byte file key (needed to compute the header MAC). */
  fileKey: Uint8Array;
  /** One or more stanzas wrapping that key (e.g. just the current reader's). */
  stanzas: readonly Stanza[];
};

/**
 * Builds an age header (version line, stanzas, MAC) for stored stanzas.
 * `assembleHeader(...)` followed by the stored payload is a complete age file
 * that any age implementation decrypts.
 *
 * @throws UnsupportedRecipientError if an scrypt stanza is combined with others.
 * @throws InvalidHeaderError if a stanza has an empty or non-printable argument.
 * @example
 * const file = concat(assembleHeader({ fileKey, stanzas: [stanza] }), payload);
 */
export function assembleHeader(parameters: AssembleHeaderParameters): Uint8Array {
  const { fileKey, stanzas } = parameters;
  if (fileKey.length !== FILE_KEY_LENGTH) {
    throw new UnsupportedRecipientError({ details: { reason: 'file key must be 16 bytes' } });
  }
  if (stanzas.length > 1 && stanzas.some((s) => s.type === 'scrypt')) {
    throw new UnsupportedRecipientError({
      hint: 'a passphrase (scrypt) stanza must be the only one of its file',
    });
  }
  return encodeHeader(fileKey, stanzas);
}
