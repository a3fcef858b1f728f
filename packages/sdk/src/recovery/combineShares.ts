import { hexToBytes } from '@noble/hashes/utils.js';
import { combine } from 'shamir-secret-sharing';
import { RecoveryError } from '../errors/recovery.ts';
import { type RecoveryShare, secretCheckOf, shareDigest, shareSetRoot } from './recoveryShare.ts';

export type CombineSharesParameters = {
  /** Shares collected from guardians (parsed with `parseRecoveryShare`). */
  shares: readonly RecoveryShare[];
  /**
   * The set root anchored on chain (`Recovery.shareSetRoot(identity)`). When given, only shares of exactly that set
   * are accepted (an older epoch or another set is refused) and a tampered commitment list is caught even if every
   * collected share was forged consistently.
   */
  expectedSetRoot?: `0x${string}`;
  /** Refuse shares of an epoch below this (e.g. the patient's current epoch). */
  minEpoch?: number;
};

export type CombineSharesReturnType = {
  secret: Uint8Array;
  /** Indexes of the shares used. */
  used: number[];
  /** Indexes of shares refused as corrupted (T-18): named, not silently used. */
  corrupted: number[];
};

/**
 * Gives back the secret from at least k shares of one set, checking every share against the set's commitments
 * and the result against the secret check.
 *
 * @throws RecoveryError `too-few-shares`, `duplicate-share`, `mixed-sets`, `stale-epoch`, `wrong-set`,
 *   `corrupted-share` (naming the bad shares when fewer than k good ones remain) or `secret-mismatch`.
 */
export async function combineShares(parameters: CombineSharesParameters): Promise<CombineSharesReturnType> {
  const { shares, expectedSetRoot, minEpoch } = parameters;
  const first = shares[0];
  if (!first) throw new RecoveryError('too-few-shares', 'no recovery shares given');
  for (const s of shares) {
    if (s.setId !== first.setId) {
      throw new RecoveryError(
        'mixed-sets',
        `share ${s.index} belongs to another recovery set than share ${first.index}`,
        {
          hint: 'ask each guardian for the share of the latest set',
        },
      );
    }
  }
  const epoch = Math.max(...shares.map((s) => s.epoch));
  if (minEpoch !== undefined && epoch < minEpoch) {
    throw new RecoveryError(
      'stale-epoch',
      `these shares are of epoch ${epoch}; the current epoch is ${minEpoch}`,
      {
        hint: 'guardians were changed since: ask for the shares of the new set',
      },
    );
  }
  const seen = new Set<number>();
  for (const s of shares) {
    if (seen.has(s.index)) throw new RecoveryError('duplicate-share', `share ${s.index} was given twice`);
    seen.add(s.index);
  }

  // The commitment list (and k, n, secret check) most shares agree on; with an anchored root, exactly that one.
  const views = new Map<string, { root: string; share: RecoveryShare; votes: number }>();
  for (const s of shares) {
    const root = shareSetRoot(s);
    const key = `${root}/${s.secretCheck}`;
    const view = views.get(key) ?? { root, share: s, votes: 0 };
    view.votes += 1;
    views.set(key, view);
  }
  let reference: RecoveryShare;
  if (expectedSetRoot !== undefined) {
    const anchored = [...views.values()].find((v) => v.root === expectedSetRoot.toLowerCase());
    if (!anchored) {
      throw new RecoveryError('wrong-set', 'no share belongs to the recovery set anchored on chain', {
        details: { expectedSetRoot },
        hint: 'these shares are from an older or another set',
      });
    }
    reference = anchored.share;
  } else {
    const ranked = [...views.values()].sort((a, b) => b.votes - a.votes);
    reference = (ranked[0] as { share: RecoveryShare }).share;
  }
  const corrupted: RecoveryShare[] = [];
  const good: RecoveryShare[] = [];
  for (const s of shares) {
    const ok =
      s.epoch === reference.epoch &&
      s.threshold === reference.threshold &&
      s.total === reference.total &&
      s.index <= reference.total &&
      s.secretCheck === reference.secretCheck &&
      reference.commitments[s.index - 1] === shareDigest(s);
    (ok ? good : corrupted).push(s);
  }
  const k = reference.threshold;
  if (good.length < k) {
    if (corrupted.length > 0) {
      throw new RecoveryError(
        'corrupted-share',
        `share${corrupted.length > 1 ? 's' : ''} ${corrupted.map((s) => s.index).join(', ')} failed the integrity check; ${good.length} of ${k} good shares remain`,
        {
          details: { corrupted: corrupted.map((s) => s.index) },
          hint: 'ask those guardians to send their share again',
        },
      );
    }
    throw new RecoveryError(
      'too-few-shares',
      `${good.length} share${good.length === 1 ? '' : 's'} given; ${k} are needed`,
    );
  }
  const used = good.slice(0, k);
  const secret = await combine(used.map((s) => hexToBytes(s.share)));
  if (secretCheckOf(reference.setId, secret) !== reference.secretCheck) {
    throw new RecoveryError('secret-mismatch', 'the shares do not give back the recorded secret', {
      hint: 'a share was forged together with its commitments; use the on-chain set root to tell which',
    });
  }
  return { secret, used: used.map((s) => s.index), corrupted: corrupted.map((s) => s.index) };
}
