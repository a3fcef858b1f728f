import { randomBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { split } from 'shamir-secret-sharing';
import { describe, expect, it } from 'vitest';
import { RecoveryError } from '../errors/recovery.ts';
import { nth } from '../testing/nth.ts';
import { combineShares } from './combineShares.ts';
import { splitSecret } from './splitSecret.ts';

/** Every k-element subset of xs. */
function subsets<T>(xs: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (xs.length < k) return [];
  const [head, ...rest] = xs as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [head, ...s]), ...subsets(rest, k)];
}

describe('splitSecret / combineShares', () => {
  it('any k of n shares give the secret back, for every k-subset (3 of 5)', async () => {
    const secret = randomBytes(32);
    const { shares } = await splitSecret({ secret, threshold: 3, total: 5 });
    for (const subset of subsets(shares, 3)) {
      const { secret: back, used, corrupted } = await combineShares({ shares: subset });
      expect(back).toEqual(secret);
      expect(used).toEqual(subset.map((s) => s.index));
      expect(corrupted).toEqual([]);
    }
  });

  it('round-trips any secret, threshold and guardian count (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 2, max: 7 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n }))),
        fc.infiniteStream(fc.double()),
        async (secret, [total, threshold], order) => {
          const { shares } = await splitSecret({ secret, threshold, total });
          const it = order[Symbol.iterator]();
          const shuffled = [...shares].sort(() => (it.next().value as number) - 0.5);
          const { secret: back } = await combineShares({ shares: shuffled.slice(0, threshold) });
          expect(back).toEqual(secret);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('T-17: k-1 shares reveal nothing — one share of a 2-of-n split is uniform whatever the secret', async () => {
    // For each secret byte, the y-value of one share over many splits must be uniform over GF(2^8):
    // chi-square with 255 degrees of freedom (mean 255, sd 22.6); 400 is > 6 sd: no flake, and a leak of even
    // a few bits (e.g. y = s xor r with r biased) would exceed it by far.
    const runs = 25_600;
    for (const secretByte of [0x00, 0xff, 0x5a]) {
      const counts = new Array<number>(256).fill(0);
      for (let i = 0; i < runs; i++) {
        const [first] = await split(new Uint8Array([secretByte]), 3, 2);
        const y = (first as Uint8Array)[0] as number;
        counts[y] = (counts[y] as number) + 1;
      }
      const expected = runs / 256;
      const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      expect(chi).toBeLessThan(400);
    }
  });

  it('T-17: fewer than k shares are refused, never combined into a wrong key', async () => {
    const { shares } = await splitSecret({ secret: randomBytes(32), threshold: 3, total: 5 });
    await expect(combineShares({ shares: shares.slice(0, 2) })).rejects.toMatchObject({
      reason: 'too-few-shares',
    });
    await expect(combineShares({ shares: [] })).rejects.toMatchObject({ reason: 'too-few-shares' });
  });

  it('T-18: every flipped bit of a share is detected and the bad share named', async () => {
    const secret = randomBytes(32);
    const { shares } = await splitSecret({ secret, threshold: 2, total: 3 });
    const [a, b, c] = shares as [(typeof shares)[0], (typeof shares)[0], (typeof shares)[0]];
    const bytes = a.share.length / 2;
    for (let byte = 0; byte < bytes; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const raw = Buffer.from(a.share, 'hex');
        raw[byte] = (raw[byte] as number) ^ (1 << bit);
        const flipped = { ...a, share: raw.toString('hex') };
        // With k good shares left, recovery succeeds and names the bad one.
        const ok = await combineShares({ shares: [flipped, b, c] });
        expect(ok.secret).toEqual(secret);
        expect(ok.corrupted).toEqual([1]);
        // With only k given, the bad share is refused by name rather than giving a wrong key.
        await expect(combineShares({ shares: [b, flipped] })).rejects.toMatchObject({
          reason: 'corrupted-share',
          details: { corrupted: [1] },
        });
      }
    }
  });

  it('T-18: a share forged with its own commitments is caught by the secret check or the on-chain set root', async () => {
    const secret = randomBytes(32);
    const { shares, setRoot } = await splitSecret({ secret, threshold: 2, total: 3 });
    const [a, , c] = shares as [(typeof shares)[0], (typeof shares)[0], (typeof shares)[0]];
    const raw = Buffer.from(c.share, 'hex');
    raw[0] = (raw[0] as number) ^ 0xff;
    const { shareDigest } = await import('./recoveryShare.ts');
    const forgedShare = raw.toString('hex');
    const commitments = [...c.commitments];
    commitments[2] = shareDigest({ ...c, share: forgedShare });
    const forged = { ...c, share: forgedShare, commitments };
    // The forger's view first: its own check passes, the combination fails the secret check.
    await expect(combineShares({ shares: [forged, a] })).rejects.toMatchObject({ reason: 'secret-mismatch' });
    // With the root anchored on chain, the forged share is named.
    await expect(combineShares({ shares: [forged, a], expectedSetRoot: setRoot })).rejects.toMatchObject({
      reason: 'corrupted-share',
      details: { corrupted: [3] },
    });
  });

  it('T-17: shares of an older epoch or another set are refused', async () => {
    const secret = randomBytes(32);
    const old = await splitSecret({ secret, threshold: 2, total: 3, epoch: 1 });
    const next = await splitSecret({ secret, threshold: 2, total: 3, epoch: 2 });
    await expect(combineShares({ shares: [nth(old.shares, 0), nth(next.shares, 1)] })).rejects.toMatchObject({
      reason: 'mixed-sets',
    });
    await expect(combineShares({ shares: old.shares.slice(0, 2), minEpoch: 2 })).rejects.toMatchObject({
      reason: 'stale-epoch',
    });
    await expect(
      combineShares({ shares: old.shares.slice(0, 2), expectedSetRoot: next.setRoot }),
    ).rejects.toMatchObject({ reason: 'wrong-set' });
    expect(
      (await combineShares({ shares: next.shares.slice(1), expectedSetRoot: next.setRoot })).secret,
    ).toEqual(secret);
  });

  it('refuses the same share twice and bad split parameters', async () => {
    const { shares } = await splitSecret({ secret: randomBytes(16), threshold: 2, total: 2 });
    await expect(combineShares({ shares: [nth(shares, 0), nth(shares, 0)] })).rejects.toMatchObject({
      reason: 'duplicate-share',
    });
    for (const bad of [
      { threshold: 1, total: 3 },
      { threshold: 4, total: 3 },
      { threshold: 2, total: 256 },
      { threshold: 2.5, total: 3 },
    ]) {
      await expect(splitSecret({ secret: randomBytes(16), ...bad })).rejects.toBeInstanceOf(RecoveryError);
    }
    await expect(splitSecret({ secret: new Uint8Array(0), threshold: 2, total: 3 })).rejects.toMatchObject({
      reason: 'invalid-parameters',
    });
  });
});
