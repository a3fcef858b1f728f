export { RecoveryError, type RecoveryRefusal } from '../errors/recovery.ts';
export {
  type CombineSharesParameters,
  type CombineSharesReturnType,
  combineShares,
} from './combineShares.ts';
export { mnemonicToRecoverySecret, recoverySecretToMnemonic } from './mnemonicSecret.ts';
export {
  parseRecoveryShare,
  RECOVERY_SHARE_FORMAT,
  type RecoveryShare,
  secretCheckOf,
  shareDigest,
  shareSetRoot,
} from './recoveryShare.ts';
export { type OpenShareParameters, openShare, type SealShareParameters, sealShare } from './sealShare.ts';
export { type SplitSecretParameters, type SplitSecretReturnType, splitSecret } from './splitSecret.ts';
