import { nobleRecoverPublicKey } from '@carekey/sdk/protocol';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadNativeRecoverPublicKey } from './nativeSecp256k1.ts';

const N = secp256k1.Point.CURVE().n;
const P = secp256k1.Point.CURVE().p;
const native = loadNativeRecoverPublicKey();

const be32 = (value: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};
const compact = (r: bigint, s: bigint): Uint8Array => new Uint8Array([...be32(r), ...be32(s)]);

/** What a recovery answers: the key (hex) or `refused`, so the two implementations' answers compare with `toEqual`. */
function answer(
  recover: (compact: Uint8Array, bit: 0 | 1, digest: Uint8Array) => Uint8Array,
  signature: Uint8Array,
  bit: 0 | 1,
  digest: Uint8Array,
): string {
  try {
    return Buffer.from(recover(signature, bit, digest)).toString('hex');
  } catch {
    return 'refused';
  }
}

function sameAnswer(signature: Uint8Array, bit: 0 | 1, digest: Uint8Array): string {
  const recover = native.recover;
  if (recover === undefined) throw new Error(`libsecp256k1 did not load: ${native.error}`);
  const expected = answer(nobleRecoverPublicKey, signature, bit, digest);
  expect(answer(recover, signature, bit, digest)).toBe(expected);
  return expected;
}

describe('native secp256k1 recovery (T-1/T-6: who signed a request is decided exactly as with noble)', () => {
  it('loads the prebuilt libsecp256k1 binding on this platform without compiling', () => {
    expect(native.error).toBeUndefined();
    expect(native.recover).toBeTypeOf('function');
  });

  it('recovers the signing key of valid signatures, low-s and their high-s twins alike (property, vs noble)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 48, maxLength: 48 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (seed, digest) => {
          const secret = secp256k1.utils.randomSecretKey(seed); // 48 bytes reduced to a scalar in 1…n−1
          const key = Buffer.from(secp256k1.getPublicKey(secret, false)).toString('hex');
          const signature = secp256k1.Signature.fromBytes(
            secp256k1.sign(digest, secret, { prehash: false, format: 'recovered' }),
            'recovered',
          );
          const bit = signature.recovery as 0 | 1;
          expect(sameAnswer(signature.toBytes('compact'), bit, digest)).toBe(key);
          // The malleable twin (r, n − s) with the other bit recovers the same key: accepted by both, as before.
          const twin = compact(signature.r, N - signature.s);
          expect(sameAnswer(twin, (bit ^ 1) as 0 | 1, digest)).toBe(key);
          // The wrong bit: another key (or none), the same for both.
          expect(sameAnswer(signature.toBytes('compact'), (bit ^ 1) as 0 | 1, digest)).not.toBe(key);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives the same answer on random bytes (property, vs noble)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.constantFrom<0 | 1>(0, 1),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (signature, bit, digest) => {
          sameAnswer(signature, bit, digest);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses, like noble, out-of-range and degenerate signatures (Wycheproof-style edge cases)', () => {
    const secret = secp256k1.utils.randomSecretKey(new Uint8Array(48).fill(7));
    const digest = new Uint8Array(32).fill(0x5a);
    const good = secp256k1.Signature.fromBytes(
      secp256k1.sign(digest, secret, { prehash: false, format: 'recovered' }),
      'recovered',
    );
    // r whose x is not on the curve: x³ + 7 a non-residue mod p.
    let offCurve = 5n;
    const isSquare = (v: bigint) => modPow(v, (P - 1n) / 2n, P) === 1n;
    while (isSquare((offCurve ** 3n + 7n) % P)) offCurve++;
    const cases: [string, bigint, bigint, 'refused' | 'same'][] = [
      ['r = 0', 0n, good.s, 'refused'],
      ['s = 0', good.r, 0n, 'refused'],
      ['r = s = 0', 0n, 0n, 'refused'],
      ['r = n', N, good.s, 'refused'],
      ['s = n', good.r, N, 'refused'],
      ['r = n + 1 (x = r − n, never tried with bit 0/1)', N + 1n, good.s, 'refused'],
      ['s = n + 1', good.r, N + 1n, 'refused'],
      ['r = p − 1', P - 1n, good.s, 'refused'],
      ['r = 2²⁵⁶ − 1', 2n ** 256n - 1n, good.s, 'refused'],
      ['s = 2²⁵⁶ − 1', good.r, 2n ** 256n - 1n, 'refused'],
      ['r not an x on the curve', offCurve, good.s, 'refused'],
      ['r = n − 1', N - 1n, good.s, 'same'],
      ['s = n − 1', good.r, N - 1n, 'same'],
      ['r = 1, s = 1', 1n, 1n, 'same'],
      ['s = n/2 (largest low s)', good.r, N >> 1n, 'same'],
      ['s = n/2 + 1 (smallest high s)', good.r, (N >> 1n) + 1n, 'same'],
    ];
    const digests = [digest, new Uint8Array(32), be32(N), be32(N + 1n), new Uint8Array(32).fill(0xff)];
    for (const [, r, s, expected] of cases)
      for (const d of digests)
        for (const bit of [0, 1] as const) {
          const got = sameAnswer(compact(r, s), bit, d);
          if (expected === 'refused') expect(got).toBe('refused');
        }
  });

  it('refuses what is not 64 bytes and a digest that is not 32 bytes, like noble', () => {
    const recover = native.recover;
    if (recover === undefined) throw new Error('libsecp256k1 did not load');
    for (const [signature, digest] of [
      [new Uint8Array(63).fill(1), new Uint8Array(32).fill(1)],
      [new Uint8Array(65).fill(1), new Uint8Array(32).fill(1)],
      [new Uint8Array(64).fill(1), new Uint8Array(31).fill(1)],
    ] as const) {
      expect(answer(recover, signature, 0, digest)).toBe('refused');
    }
  });
});

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
