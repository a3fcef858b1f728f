import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { split } from 'shamir-secret-sharing';
import { RecoveryError } from '../errors/recovery.ts';
import {
  RECOVERY_SHARE_FORMAT,
  type RecoveryShare,
  secretCheckOf,
  shareDigest,
  shareSetRoot,
} from './recoveryShare.ts';

export type SplitSecretParameters = {
  /** The secret (for a wallet: the BIP-39 entropy, see `mnemonicToRecoverySecret`). 1..1024 bytes. */
  secret: Uint8Array;
  /** Shares needed to recover (k). At least 2: a single guardian must never hold the key alone. */
  threshold: number;
  /** Shares made (n), one per guardian; 2..255. */
  total: number;
  /** The split's generation; bump it when guardians change so older shares are refused. Default 1. */
  epoch?: number;
};

export type SplitSecretReturnType = {
  setId: string;
  epoch: number;
  /** Anchor this on chain (`Recovery.setShareSetRoot`) and keep it: it identifies shares of this set. */
  setRoot: `0x${string}`;
  /** One per guardian, index 1..n. */
  shares: RecoveryShare[];
};

/**
 * Splits a secret into n Shamir shares over GF(2^8), any k of which give it back and fewer reveal nothing
 * (`shamir-secret-sharing`, audited by Cure53 and Zellic). Each share carries the commitments of the whole set.
 *
 * @throws RecoveryError `invalid-parameters` for k < 2, k > n, n > 255 or an empty secret.
 * @example
 * const { shares, setRoot } = await splitSecret({ secret: entropy, threshold: 2, total: 3 });
 */
export async function splitSecret(parameters: SplitSecretParameters): Promise<SplitSecretReturnType> {
  const { secret, threshold, total } = parameters;
  const epoch = parameters.epoch ?? 1;
  if (!Number.isInteger(total) || total < 2 || total > 255) {
    throw new RecoveryError('invalid-parameters', `guardians must number 2 to 255, got ${total}`);
  }
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > total) {
    throw new RecoveryError('invalid-parameters', `threshold must be 2 to ${total}, got ${threshold}`, {
      hint: 'a majority of guardians is recommended, and at least 3 of 5 against collusion (T-17)',
    });
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 2 ** 32) {
    throw new RecoveryError('invalid-parameters', `epoch must be a non-negative integer, got ${epoch}`);
  }
  if (secret.length === 0 || secret.length > 1024) {
    throw new RecoveryError('invalid-parameters', `the secret must be 1 to 1024 bytes, got ${secret.length}`);
  }
  const setId = bytesToHex(randomBytes(16));
  const raw = await split(secret, total, threshold);
  const partial = raw.map((bytes, i) => ({ setId, epoch, index: i + 1, share: bytesToHex(bytes) }));
  const commitments = partial.map(shareDigest);
  const secretCheck = secretCheckOf(setId, secret);
  const shares: RecoveryShare[] = partial.map((p) => ({
    format: RECOVERY_SHARE_FORMAT,
    ...p,
    threshold,
    total,
    commitments,
    secretCheck,
  }));
  return { setId, epoch, setRoot: shareSetRoot({ setId, epoch, threshold, total, commitments }), shares };
}
