import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { normaliseMnemonic } from '../wallet/mnemonic.ts';

/**
 * The recovery secret of a wallet: the BIP-39 entropy of its phrase (32 bytes for 24 words). Splitting the entropy
 * rather than the words keeps the secret uniformly random, as Shamir needs.
 *
 * @throws InvalidMnemonicError for a phrase that is not valid BIP-39 English.
 */
export function mnemonicToRecoverySecret(mnemonic: string): Uint8Array {
  return mnemonicToEntropy(normaliseMnemonic(mnemonic), wordlist);
}

/** The phrase given back by a recovered secret. */
export function recoverySecretToMnemonic(secret: Uint8Array): string {
  return entropyToMnemonic(secret, wordlist);
}
