export { BaseError, type BaseErrorParameters } from './BaseError.ts';
export {
  BlobBatchError,
  type BlobBatchFault,
  BlobIntegrityError,
  BlobNotFoundError,
  BlobStoreError,
  InvalidBlobIdError,
} from './blobs.ts';
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
export {
  CryptoError,
  HeaderMacMismatchError,
  InvalidArmorError,
  InvalidCiphertextError,
  InvalidHeaderError,
  InvalidIdentityError,
  InvalidRecipientError,
  NoIdentityMatchError,
  UnsupportedRecipientError,
} from './crypto.ts';
export {
  CategoryKeyError,
  CategoryTagError,
  FhirError,
  FhirImportError,
  type FhirImportErrorReason,
  FhirParseError,
  type FhirParseErrorReason,
  FhirValidationError,
} from './fhir.ts';
export { IdentityRefError, type IdentityRefRefusal } from './identity.ts';
export {
  IndexerChainMismatchError,
  IndexerError,
  IndexerReorgRaceError,
  IndexerRpcError,
} from './indexer.ts';
export { SignedRequestError, type SignedRequestRefusal } from './protocol.ts';
export {
  DatabaseConnectionError,
  InvalidDatabaseUrlError,
  MigrationError,
  OutboxError,
  QueryError,
  redactUrl,
  StorageError,
  StoreClosedError,
} from './storage.ts';
export { KeyReleaseRefusedError, VaultChainUnavailableError, VaultError, VaultInputError } from './vault.ts';
export { InvalidMnemonicError, WalletError, WrongPassphraseError } from './wallet.ts';
