import { generateMnemonic as scureGenerate, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { InvalidMnemonicError } from '../errors/wallet.ts';

/** Number of words in a new recovery phrase: 24 words carry 256 bits of entropy. */
export const NEW_MNEMONIC_WORDS = 24;

/**
 * Generates a new BIP-39 English recovery phrase of 24 words (256 bits of entropy).
 *
 * @example
 * const phrase = generateMnemonic(); // "abandon … art"
 */
export function generateMnemonic(): string {
  return scureGenerate(wordlist, 256);
}

/**
 * Normalises a recovery phrase typed or pasted by a person (case, extra spaces, line breaks) and checks it is a
 * valid BIP-39 English mnemonic of 12, 15, 18, 21 or 24 words.
 *
 * @throws InvalidMnemonicError naming the first unknown word, a wrong word count, or a bad checksum.
 */
export function normaliseMnemonic(phrase: string): string {
  const words = phrase.normalize('NFKD').trim().toLowerCase().split(/\s+/u).filter(Boolean);
  if (![12, 15, 18, 21, 24].includes(words.length)) {
    throw new InvalidMnemonicError(`expected 12, 15, 18, 21 or 24 words, got ${words.length}`);
  }
  const known = new Set(wordlist);
  const index = words.findIndex((w) => !known.has(w));
  if (index >= 0) {
    throw new InvalidMnemonicError(`word ${index + 1} is not in the BIP-39 English word list`);
  }
  const normalised = words.join(' ');
  if (!validateMnemonic(normalised, wordlist)) {
    throw new InvalidMnemonicError('checksum mismatch (a word is wrong or two words are swapped)');
  }
  return normalised;
}
