import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { RecoveryError } from '../errors/recovery.ts';

/** The format tag of a recovery share (the JSON text a guardian keeps, age-encrypted to them). */
export const RECOVERY_SHARE_FORMAT = 'carekey-recovery-share/v1';

/**
 * One guardian's share of a patient's recovery secret (the BIP-39 entropy of the wallet's phrase).
 *
 * Integrity (THREAT-MODEL T-18, SLIP-39 style): every share carries the digests of *all* shares of its set
 * (`commitments`), and the set is named by `setRoot = H(setId, epoch, threshold, total, commitments)`, which the
 * patient records on chain (`Recovery`) and in their own records. A flipped bit in a share no longer matches its
 * commitment, so the bad share is *identified* rather than silently giving a wrong key; a share of another set or an
 * older epoch (after a re-share, T-17) has another `setRoot`. `secretCheck` detects a wrong reconstruction even
 * without the on-chain root.
 */
export type RecoveryShare = {
  format: typeof RECOVERY_SHARE_FORMAT;
  /** Random 16-byte id of this split (hex). */
  setId: string;
  /** Increases at every re-share; shares of an older epoch are refused. */
  epoch: number;
  threshold: number;
  total: number;
  /** 1..total: which guardian's share (the Shamir x-coordinate is the last byte of `share`). */
  index: number;
  /** The Shamir share bytes (hex; `shamir-secret-sharing` layout: y-values then the x byte). */
  share: string;
  /** Hex SHA-256 digests of every share of the set, by index - 1. */
  commitments: string[];
  /** Hex SHA-256 of the secret, bound to the set: detects a wrong reconstruction. */
  secretCheck: string;
};

const encoder = (parts: readonly (string | number)[]) => utf8ToBytes(parts.join('\u0000'));

/** SHA-256 of one share, bound to its set, epoch and index. */
export function shareDigest(share: Pick<RecoveryShare, 'setId' | 'epoch' | 'index' | 'share'>): string {
  return bytesToHex(
    sha256(encoder(['carekey/recovery/share', share.setId, share.epoch, share.index, share.share])),
  );
}

/** The 32-byte root naming a share set; the patient anchors it on chain (`Recovery`). */
export function shareSetRoot(
  share: Pick<RecoveryShare, 'setId' | 'epoch' | 'threshold' | 'total' | 'commitments'>,
): `0x${string}` {
  const fields = [
    'carekey/recovery/set',
    share.setId,
    share.epoch,
    share.threshold,
    share.total,
    ...share.commitments,
  ];
  return `0x${bytesToHex(sha256(encoder(fields)))}`;
}

/** SHA-256 of the secret, bound to the set id. */
export function secretCheckOf(setId: string, secret: Uint8Array): string {
  return bytesToHex(
    sha256(new Uint8Array([...utf8ToBytes(`carekey/recovery/secret\u0000${setId}\u0000`), ...secret])),
  );
}

const HEX = /^[0-9a-f]+$/u;

/**
 * Parses and checks the shape of a share (JSON text or object). Integrity against the set is checked by
 * `combineShares`.
 *
 * @throws RecoveryError `malformed-share` naming the faulty field.
 */
export function parseRecoveryShare(input: string | unknown): RecoveryShare {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new RecoveryError('malformed-share', 'not a recovery share: the text is not JSON');
    }
  }
  const bad = (field: string): never => {
    throw new RecoveryError('malformed-share', `not a valid recovery share: bad or missing "${field}"`);
  };
  if (typeof value !== 'object' || value === null) bad('format');
  const v = value as Record<string, unknown>;
  if (v.format !== RECOVERY_SHARE_FORMAT) bad('format');
  const isHex = (x: unknown, length?: number) =>
    typeof x === 'string' &&
    HEX.test(x) &&
    x.length % 2 === 0 &&
    (length === undefined || x.length === length);
  const isInt = (x: unknown, min: number, max: number) =>
    typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
  if (!isHex(v.setId, 32)) bad('setId');
  if (!isInt(v.epoch, 0, 2 ** 32)) bad('epoch');
  if (!isInt(v.total, 2, 255)) bad('total');
  if (!isInt(v.threshold, 2, v.total as number)) bad('threshold');
  if (!isInt(v.index, 1, v.total as number)) bad('index');
  if (!isHex(v.share) || (v.share as string).length < 4) bad('share');
  if (
    !Array.isArray(v.commitments) ||
    v.commitments.length !== v.total ||
    !v.commitments.every((c) => isHex(c, 64))
  ) {
    bad('commitments');
  }
  if (!isHex(v.secretCheck, 64)) bad('secretCheck');
  return {
    format: RECOVERY_SHARE_FORMAT,
    setId: v.setId as string,
    epoch: v.epoch as number,
    threshold: v.threshold as number,
    total: v.total as number,
    index: v.index as number,
    share: v.share as string,
    commitments: [...(v.commitments as string[])],
    secretCheck: v.secretCheck as string,
  };
}

/** The share bytes. */
export function shareBytes(share: RecoveryShare): Uint8Array {
  return hexToBytes(share.share);
}
