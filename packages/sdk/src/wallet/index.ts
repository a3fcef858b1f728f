export {
  type DerivedKeys,
  type DeriveKeysParameters,
  deriveKeys,
  SECP256K1_PATH,
  X25519_HKDF_INFO,
  X25519_HKDF_SALT,
} from './deriveKeys.ts';
export { generateMnemonic, NEW_MNEMONIC_WORDS, normaliseMnemonic } from './mnemonic.ts';
export {
  type NewWalletSecretsParameters,
  newWalletSecrets,
  type OpenWalletParameters,
  openWallet,
  type SealWalletParameters,
  sealWallet,
  WALLET_MIN_LOG_N,
  type WalletKeys,
  type WalletSecrets,
  walletKeys,
} from './walletFile.ts';
