import { decrypt } from '../crypto/decrypt.ts';
import { encrypt } from '../crypto/encrypt.ts';
import type { Identity, Recipient } from '../crypto/recipient.ts';
import { RecoveryError } from '../errors/recovery.ts';
import { parseRecoveryShare, type RecoveryShare } from './recoveryShare.ts';

export type SealShareParameters = {
  share: RecoveryShare;
  /** The guardian's X25519 recipient (from their DID), or a new device's one-time recipient at recovery time. */
  recipient: Recipient;
};

/**
 * Encrypts a share to one reader as an armored age file: a guardian keeps it; at recovery the guardian opens it
 * and seals it again to the patient's new device. Readable with the `age` CLI.
 */
export async function sealShare(parameters: SealShareParameters): Promise<string> {
  const bytes = await encrypt({
    recipients: [parameters.recipient],
    plaintext: JSON.stringify(parameters.share),
    armor: true,
  });
  return new TextDecoder().decode(bytes);
}

export type OpenShareParameters = {
  sealed: string | Uint8Array;
  identities: readonly Identity[];
};

/**
 * Decrypts and parses a sealed share.
 *
 * @throws CryptoError when the share is not for these identities or was tampered with;
 *   RecoveryError `malformed-share` when it decrypts to something that is not a share.
 */
export async function openShare(parameters: OpenShareParameters): Promise<RecoveryShare> {
  const plaintext = await decrypt({ ciphertext: parameters.sealed, identities: parameters.identities });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw new RecoveryError('malformed-share', 'the sealed file does not hold a recovery share');
  }
  return parseRecoveryShare(text);
}
