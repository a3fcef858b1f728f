import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { InvalidMnemonicError } from '../errors/wallet.ts';
import { deriveKeys } from './deriveKeys.ts';
import { generateMnemonic, normaliseMnemonic } from './mnemonic.ts';

// Published vectors: the Hardhat/anvil development phrase and the BIP-39 "abandon … about" phrase give these
// well-known Ethereum addresses at m/44'/60'/0'/0/{n} in every Ethereum wallet.
const DEV = 'test test test test test test test test test test test junk';
const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

describe('deriveKeys', () => {
  it('derives the standard Ethereum account from a published mnemonic', () => {
    expect(privateKeyToAccount(deriveKeys({ mnemonic: DEV }).privateKey).address).toBe(
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    );
    expect(privateKeyToAccount(deriveKeys({ mnemonic: DEV, account: 1 }).privateKey).address).toBe(
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    );
    expect(privateKeyToAccount(deriveKeys({ mnemonic: ABANDON }).privateKey).address).toBe(
      '0x9858EfFD232B4033E47d90003D41EC34EcaEda94',
    );
  });

  it('restores the same keys from the same phrase, whatever the spacing and case', () => {
    const phrase = generateMnemonic();
    const a = deriveKeys({ mnemonic: phrase });
    const b = deriveKeys({ mnemonic: `  ${phrase.toUpperCase().replaceAll(' ', '\n  ')} ` });
    expect(b.privateKey).toBe(a.privateKey);
    expect(b.x25519SecretKey).toEqual(a.x25519SecretKey);
    expect(b.x25519PublicKey).toEqual(a.x25519PublicKey);
  });

  it('gives independent keys for different phrases and indices', () => {
    const a = deriveKeys({ mnemonic: DEV });
    const b = deriveKeys({ mnemonic: DEV, x25519Index: 1 });
    const c = deriveKeys({ mnemonic: ABANDON });
    expect(b.x25519PublicKey).not.toEqual(a.x25519PublicKey);
    expect(b.privateKey).toBe(a.privateKey);
    expect(c.x25519PublicKey).not.toEqual(a.x25519PublicKey);
    expect(a.x25519SecretKey).not.toEqual(Buffer.from(a.privateKey.slice(2), 'hex'));
  });

  it('generates 24-word phrases that validate', () => {
    const phrase = generateMnemonic();
    expect(phrase.split(' ')).toHaveLength(24);
    expect(normaliseMnemonic(phrase)).toBe(phrase);
  });

  it('refuses a phrase with a bad checksum, naming the problem', () => {
    const bad = ABANDON.replace(/about$/u, 'abandon');
    expect(() => deriveKeys({ mnemonic: bad })).toThrow(InvalidMnemonicError);
    expect(() => deriveKeys({ mnemonic: bad })).toThrow(/checksum mismatch/u);
  });

  it('refuses unknown words and wrong lengths', () => {
    expect(() => normaliseMnemonic(ABANDON.replace('about', 'aboutt'))).toThrow(
      /word 12 is not in the BIP-39/u,
    );
    expect(() => normaliseMnemonic('abandon abandon')).toThrow(/expected 12, 15, 18, 21 or 24 words, got 2/u);
    expect(() => normaliseMnemonic('')).toThrow(/got 0/u);
  });

  it('refuses invalid indices', () => {
    expect(() => deriveKeys({ mnemonic: DEV, account: -1 })).toThrow(RangeError);
    expect(() => deriveKeys({ mnemonic: DEV, x25519Index: 2 ** 31 })).toThrow(RangeError);
    expect(() => deriveKeys({ mnemonic: DEV, account: 1.5 })).toThrow(RangeError);
  });
});
