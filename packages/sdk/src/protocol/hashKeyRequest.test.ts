import fc from 'fast-check';
import { getAddress, type Hex, hashTypedData } from 'viem';
import { describe, expect, it } from 'vitest';
import { hashKeyRequest } from './hashKeyRequest.ts';
import { type KeyRequest, nodeDomain, toKeyRequestTypedData } from './signedRequest.ts';

const hex = (bytes: number) =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex);
/** An address as a client may write it: lowercase, checksummed, all upper case, or mixed case at random. */
const address = fc
  .tuple(
    hex(20),
    fc.constantFrom('lower', 'checksum', 'upper', 'random'),
    fc.uint8Array({ minLength: 40, maxLength: 40 }),
  )
  .map(([a, form, flips]) => {
    if (form === 'checksum') return getAddress(a);
    if (form === 'upper') return `0x${a.slice(2).toUpperCase()}` as Hex;
    if (form === 'random')
      return `0x${[...a.slice(2)].map((c, i) => ((flips[i] ?? 0) & 1 ? c.toUpperCase() : c)).join('')}` as Hex;
    return a;
  });
const uint64 = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.constantFrom(0n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 70n),
);
const request = fc.record({
  grantee: address,
  grantId: hex(32),
  recordIds: fc.array(hex(32), { maxLength: 5 }),
  audience: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('carekey-node:abc')),
  nonce: hex(32),
  issuedAt: uint64,
  expiresAt: uint64,
});
const domain = fc.record({
  chainId: fc.oneof(fc.constantFrom(31337, 1), fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })),
  verifyingContract: address,
});

/** viem's answer, or 'refused'. */
function viem(d: { chainId: number | bigint; verifyingContract: Hex }, r: KeyRequest): Hex | 'refused' {
  try {
    return hashTypedData(toKeyRequestTypedData(d, r));
  } catch {
    return 'refused';
  }
}
function fast(d: { chainId: number | bigint; verifyingContract: Hex }, r: KeyRequest): Hex | 'refused' {
  try {
    return hashKeyRequest(nodeDomain(d), r);
  } catch {
    return 'refused';
  }
}

describe('hashKeyRequest', () => {
  it('T-1 gives viem’s hashTypedData digest of a KeyRequest for every domain and request, and refuses what it refuses (bad checksums, uint64 out of range)', () => {
    let refused = 0;
    fc.assert(
      fc.property(domain, request, (d, r) => {
        const expected = viem(d, r);
        if (expected === 'refused') refused++;
        expect(fast(d, r)).toBe(expected);
        // The cached domain separator gives the same answer the second time.
        expect(fast(d, r)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    expect(refused).toBeGreaterThan(0); // the refusals were exercised
  });

  it('T-1 a changed field changes the digest (domain, grantee, grant, records, audience, nonce, times)', () => {
    const d = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Hex };
    const r: KeyRequest = {
      grantee: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      grantId: `0x${'11'.repeat(32)}`,
      recordIds: [`0x${'22'.repeat(32)}`],
      audience: 'carekey-node:test',
      nonce: `0x${'33'.repeat(32)}`,
      issuedAt: 1_700_000_000n,
      expiresAt: 1_700_000_300n,
    };
    const base = fast(d, r);
    expect(base).toBe(viem(d, r));
    const variants: Array<[typeof d, KeyRequest]> = [
      [{ ...d, chainId: 31338 }, r],
      [{ ...d, verifyingContract: '0x0000000000000000000000000000000000000001' }, r],
      [d, { ...r, grantee: '0x0000000000000000000000000000000000000002' }],
      [d, { ...r, grantId: `0x${'12'.repeat(32)}` }],
      [d, { ...r, recordIds: [] }],
      [d, { ...r, recordIds: [...r.recordIds, ...r.recordIds] }],
      [d, { ...r, audience: 'carekey-node:other' }],
      [d, { ...r, nonce: `0x${'34'.repeat(32)}` }],
      [d, { ...r, issuedAt: r.issuedAt + 1n }],
      [d, { ...r, expiresAt: r.expiresAt - 1n }],
    ];
    for (const [dv, rv] of variants) {
      expect(fast(dv, rv)).toBe(viem(dv, rv));
      expect(fast(dv, rv)).not.toBe(base);
    }
  });
});
