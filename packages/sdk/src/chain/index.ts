/**
 * `@carekey/sdk/chain`: the Carekey contracts' ABIs and typed clients, and the
 * high-level chain actions the node and the CLI use.
 */
export {
  consentRegistryAbi,
  consentRegistryBytecode,
  ethereumDidRegistryAbi,
  ethereumDidRegistryBytecode,
  recordRegistryAbi,
  recordRegistryBytecode,
  recoveryAbi,
  recoveryAccountAbi,
  recoveryBytecode,
} from './abi/index.ts';
export type { ChainClient, ReadClient } from './clients/ChainClient.ts';
export {
  type ChangeIdentityOwnerParameters,
  type ChangeIdentityOwnerReturnType,
  changeIdentityOwner,
} from './clients/changeIdentityOwner.ts';
export {
  type CreateChainClientParameters,
  type CreateChainClientReturnType,
  createChainClient,
} from './clients/createChainClient.ts';
export {
  type DenyAccessRequestParameters,
  type DenyAccessRequestReturnType,
  denyAccessRequest,
} from './clients/denyAccessRequest.ts';
export {
  type GetConsentRegistryParameters,
  type GetConsentRegistryReturnType,
  getConsentRegistry,
} from './clients/getConsentRegistry.ts';
export {
  type GetDidRegistryParameters,
  type GetDidRegistryReturnType,
  getDidRegistry,
} from './clients/getDidRegistry.ts';
export {
  type GetEncryptionKeyParameters,
  type GetEncryptionKeyReturnType,
  getEncryptionKey,
} from './clients/getEncryptionKey.ts';
export {
  type GetIdentityOwnerParameters,
  type GetIdentityOwnerReturnType,
  getIdentityOwner,
} from './clients/getIdentityOwner.ts';
export {
  type GetRecordRegistryParameters,
  type GetRecordRegistryReturnType,
  getRecordRegistry,
} from './clients/getRecordRegistry.ts';
export {
  DEFAULT_SIGNATURE_TTL,
  type GetSignatureContextParameters,
  type GetSignatureContextReturnType,
  getSignatureContext,
} from './clients/getSignatureContext.ts';
export {
  type GrantAccessParameters,
  type GrantAccessReturnType,
  grantAccess,
} from './clients/grantAccess.ts';
export {
  type PublishBatchParameters,
  type PublishBatchReturnType,
  publishBatch,
} from './clients/publishBatch.ts';
export { type ReadGrantParameters, type ReadGrantReturnType, readGrant } from './clients/readGrant.ts';
export { type RelayGrantParameters, type RelayGrantReturnType, relayGrant } from './clients/relayGrant.ts';
export {
  type RequestAccessParameters,
  type RequestAccessReturnType,
  requestAccess,
} from './clients/requestAccess.ts';
export {
  type RevokeGrantParameters,
  type RevokeGrantReturnType,
  revokeGrant,
} from './clients/revokeGrant.ts';
export {
  DEFAULT_ATTRIBUTE_VALIDITY,
  type SetEncryptionKeyParameters,
  type SetEncryptionKeyReturnType,
  setEncryptionKey,
  X25519_ATTRIBUTE,
  X25519_ATTRIBUTE_NAME,
} from './clients/setEncryptionKey.ts';
export {
  type ShredRecordParameters,
  type ShredRecordReturnType,
  shredRecord,
} from './clients/shredRecord.ts';
export { type DidRegistrySignature, signDidRegistryHash } from './clients/signDidRegistryHash.ts';
export {
  type GrantTerms,
  type SignedGrant,
  type SignGrantParameters,
  type SignGrantReturnType,
  signGrant,
} from './clients/signGrant.ts';
export {
  type ToContractRevertErrorParameters,
  type ToContractRevertErrorReturnType,
  toContractRevertError,
} from './clients/toContractRevertError.ts';
export {
  type VerifyOwnerSignatureParameters,
  verifyOwnerSignature,
} from './clients/verifyOwnerSignature.ts';
export {
  type WriteContractAndWaitParameters,
  type WriteContractAndWaitReturnType,
  writeContractAndWait,
} from './clients/writeContractAndWait.ts';
export {
  buildMerkleTree,
  buildRecordIdTree,
  buildRecordTree,
  getMerkleProof,
  hashPair,
  hashPatientCommitment,
  hashRecordIdLeaf,
  hashRecordLeaf,
  type MerkleTree,
  MerkleTreeError,
  type RecordLeaf,
  type RecordTree,
  type VerifyMerkleProofParameters,
  verifyMerkleProof,
} from './merkle.ts';
export {
  type AccessRequestRelayBody,
  type DenyRelayBody,
  type GrantRelayBody,
  type RelaySignatureParameters,
  type RelaySignedPart,
  type RevokeRelayBody,
  type SignAccessRequestForRelayParameters,
  type SignDenyForRelayParameters,
  type SignedForRelay,
  type SignGrantForRelayParameters,
  type SignRevokeForRelayParameters,
  signAccessRequestForRelay,
  signDenyForRelay,
  signGrantForRelay,
  signRevokeForRelay,
} from './signForRelay.ts';
export * from './typedData.ts';
