import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** A wallet could not be created, restored, opened or saved. */
export class WalletError extends BaseError {
  override name = 'WalletError';
}

/** The recovery phrase is not a valid BIP-39 English mnemonic (unknown word, wrong length or bad checksum). */
export class InvalidMnemonicError extends WalletError {
  override name = 'InvalidMnemonicError';
  constructor(reason: string, parameters: BaseErrorParameters = {}) {
    super(`invalid recovery phrase: ${reason}`, {
      hint: 'check each word and its order against the phrase you wrote down',
      ...parameters,
    });
  }
}
