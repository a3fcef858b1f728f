export { BaseError, type BaseErrorParameters } from './BaseError.ts';
export { InvalidMnemonicError, WalletError } from './wallet.ts';
