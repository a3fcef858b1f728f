export { RecoveryError, type RecoveryRefusal } from '../errors/recovery.ts';
export { accountCall } from './accountCall.ts';
export {
  type CheckGuardianSetParameters,
  checkGuardianSet,
  guardianRecipients,
  MAX_GUARDIANS,
  MIN_GUARDIANS,
} from './checkGuardians.ts';
export {
  type CombineSharesParameters,
  type CombineSharesReturnType,
  combineShares,
} from './combineShares.ts';
export { mnemonicToRecoverySecret, recoverySecretToMnemonic } from './mnemonicSecret.ts';
export {
  cancelRecovery,
  changeDid,
  configureRecovery,
  type EnableRecoveryParameters,
  enableRecovery,
  executeRecovery,
  getRecovery,
  type RecoveryApproval,
  type RecoveryStateBody,
  sendRecoveryApproval,
  signRecoveryApproval,
} from './recoveryClient.ts';
export {
  parseRecoveryShare,
  RECOVERY_SHARE_FORMAT,
  type RecoveryShare,
  secretCheckOf,
  shareDigest,
  shareSetRoot,
} from './recoveryShare.ts';
export {
  type DidChange,
  didChangeHash,
  guardiansHash,
  type RecoverySettings,
  toAccountExecuteTypedData,
  toApproveTypedData,
  toCancelTypedData,
  toConfigureTypedData,
  toEnableTypedData,
} from './recoveryTypedData.ts';
export { type OpenShareParameters, openShare, type SealShareParameters, sealShare } from './sealShare.ts';
export { type SplitSecretParameters, type SplitSecretReturnType, splitSecret } from './splitSecret.ts';
