export { BaseError, type BaseErrorParameters } from './BaseError.ts';
export {
  AnvilNotFoundError,
  ChainConfigError,
  ChainError,
  ChainPortInUseError,
  ChainStartError,
  ContractRevertError,
  DataDirError,
  MissingEventError,
} from './chain.ts';
export { InvalidMnemonicError, WalletError } from './wallet.ts';
