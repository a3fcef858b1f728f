import fc from 'fast-check';
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { IdentityRefError } from '../errors/identity.ts';
import { parseIdentityRef } from './parseIdentityRef.ts';

// EIP-55's own test vectors (https://eips.ethereum.org/EIPS/eip-55#test-cases).
const EIP55 = [
  '0x52908400098527886E0F7030069857D2E4169EE7',
  '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
  '0xde709f2102306220921060314715629080e2fb77',
  '0x27b1fdb04752bbc536007a920d24acb045561c26',
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
] as const;

const refusal = (value: string, chainId?: number) => {
  try {
    parseIdentityRef(value, { chainId });
  } catch (error) {
    expect(error).toBeInstanceOf(IdentityRefError);
    return { reason: (error as IdentityRefError).reason, message: (error as Error).message };
  }
  throw new Error(`${value} was accepted`);
};

describe('parseIdentityRef', () => {
  it('accepts an address in one case or with its EIP-55 checksum (the EIP-55 vectors), and returns it checksummed', () => {
    for (const address of EIP55) {
      const checksummed = getAddress(address);
      expect(parseIdentityRef(address)).toBe(checksummed);
      expect(parseIdentityRef(address.toLowerCase())).toBe(checksummed);
      expect(parseIdentityRef(`0x${address.slice(2).toUpperCase()}`)).toBe(checksummed);
      expect(parseIdentityRef(`  ${address}\n`)).toBe(checksummed);
    }
  });

  it('accepts did:ethr with a hex or decimal chain id or none, and an ethereum: URI (a wallet QR code)', () => {
    const address = EIP55[4];
    const lower = address.toLowerCase();
    expect(parseIdentityRef(`did:ethr:0x7a69:${lower}`, { chainId: 31337 })).toBe(address);
    expect(parseIdentityRef(`did:ethr:31337:${address}`, { chainId: 31337 })).toBe(address);
    expect(parseIdentityRef(`did:ethr:${lower}`, { chainId: 31337 })).toBe(address);
    expect(parseIdentityRef(`DID:ETHR:0X7A69:0X${lower.slice(2).toUpperCase()}`, { chainId: 31337 })).toBe(
      address,
    );
    expect(parseIdentityRef(`ethereum:${address}`)).toBe(address);
    expect(parseIdentityRef(`ethereum:${address}@31337`, { chainId: 31337 })).toBe(address);
  });

  it('refuses a mixed-case address whose checksum is wrong (one letter changed case), in plain words', () => {
    const good = EIP55[4];
    const bad = `${good.slice(0, 6)}${good[6] === 'b' ? 'B' : 'b'}${good.slice(7)}`; // 0x5aAeb6 → 0x5aAeB6
    expect(bad).not.toBe(good);
    const r = refusal(bad);
    expect(r.reason).toBe('bad-checksum');
    expect(r.message).toContain(`address '${bad}' has a wrong checksum`);
    expect(r.message).toContain('mistyped');
    expect(refusal(`did:ethr:0x7a69:${bad}`).reason).toBe('bad-checksum');
  });

  it('property: flipping the case of any one letter of a checksummed address is caught', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(), (bytes, pick) => {
        const address = getAddress(`0x${Buffer.from(bytes).toString('hex')}`);
        const letters = [...address.slice(2)].flatMap((c, i) => (/[a-f]/iu.test(c) ? [i + 2] : []));
        fc.pre(letters.length > 1); // a one-letter address flipped is in one case again
        const at = letters[pick % letters.length] as number;
        const c = address[at] as string;
        const flipped = `${address.slice(0, at)}${c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()}${address.slice(at + 1)}`;
        const digits = flipped.slice(2);
        fc.pre(digits !== digits.toLowerCase() && digits !== digits.toUpperCase());
        expect(refusal(flipped).reason).toBe('bad-checksum');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses malformed values, quoting them, and a DID or URI of another chain', () => {
    for (const bad of [
      '',
      '0x1234',
      '0xnothex0000000000000000000000000000000000',
      `${EIP55[0]}00`,
      'did:ethr:0x7a69:0xnothex',
      'did:web:example.com',
      'did:ethr:mainnet:0x52908400098527886e0f7030069857d2e4169ee7',
      'alice@example.com',
      'https://evil.example/0x52908400098527886e0f7030069857d2e4169ee7',
    ]) {
      const r = refusal(bad);
      expect(r.reason, bad).toBe('malformed');
      expect(r.message, bad).toContain(`malformed address '${bad.trim().slice(0, 80)}`);
    }
    expect(refusal('x'.repeat(500)).message).toContain(`'${'x'.repeat(80)}…'`);
    const other = refusal(`did:ethr:0x1:${EIP55[2]}`, 31337);
    expect(other.reason).toBe('other-chain');
    expect(other.message).toContain('is on chain 1, this node is on chain 31337');
    expect(refusal(`ethereum:${EIP55[2]}@1`, 31337).reason).toBe('other-chain');
    // Without a chain to compare with, the DID's own chain is not judged.
    expect(parseIdentityRef(`did:ethr:0x1:${EIP55[2]}`)).toBe(getAddress(EIP55[2]));
  });
});
