import { InvalidHeaderError, NoIdentityMatchError } from '../errors/crypto.ts';
import { type CryptoBackend, getDefaultCryptoBackend } from './backend.ts';
import { FILE_KEY_LENGTH, type Identity } from './recipient.ts';
import type { Stanza } from './stanza.ts';

/** Options of `unwrapFileKey`. */
export type UnwrapFileKeyParameters = {
  /** Stanzas of one file (all of a header, or the ones stored for this reader). */
  stanzas: readonly Stanza[];
  /** The reader's identities, tried in order. */
  identities: readonly Identity[];
  backend?: CryptoBackend;
};

/**
 * Recovers the file key from stanzas with the first identity that matches.
 * Stanzas of unknown types are skipped. An `scrypt` stanza must be alone.
 *
 * @throws NoIdentityMatchError if no identity unwraps any stanza (also for a wrong passphrase).
 * @throws InvalidHeaderError if a stanza an identity reads is malformed.
 */
export async function unwrapFileKey(parameters: UnwrapFileKeyParameters): Promise<Uint8Array> {
  const { stanzas, identities } = parameters;
  const backend = parameters.backend ?? getDefaultCryptoBackend();
  if (stanzas.length === 0) throw new InvalidHeaderError({ details: { reason: 'no recipient stanza' } });
  if (stanzas.length > 1 && stanzas.some((s) => s.type === 'scrypt')) {
    throw new InvalidHeaderError({ details: { reason: 'an scrypt stanza must be alone in its header' } });
  }
  for (const identity of identities) {
    const fileKey = await identity.unwrapFileKey(stanzas, backend);
    if (fileKey) {
      if (fileKey.length !== FILE_KEY_LENGTH)
        throw new InvalidHeaderError({ details: { reason: 'bad file key length' } });
      return fileKey;
    }
  }
  throw new NoIdentityMatchError();
}
