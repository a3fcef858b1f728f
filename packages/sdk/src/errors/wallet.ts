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

/** The passphrase does not open the wallet file. */
export class WrongPassphraseError extends WalletError {
  override name = 'WrongPassphraseError';
  constructor() {
    super('wrong passphrase', {
      hint: 'try again; if it is lost, restore the wallet from its recovery phrase',
    });
  }
}
