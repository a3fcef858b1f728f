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
  DEFAULT_ATTRIBUTE_VALIDITY,
  type SetEncryptionKeyParameters,
  type SetEncryptionKeyReturnType,
  setEncryptionKey,
  X25519_ATTRIBUTE,
  X25519_ATTRIBUTE_NAME,
} from './clients/setEncryptionKey.ts';
export { type DidRegistrySignature, signDidRegistryHash } from './clients/signDidRegistryHash.ts';
export {
  type ToContractRevertErrorParameters,
  type ToContractRevertErrorReturnType,
  toContractRevertError,
} from './clients/toContractRevertError.ts';
export {
  type WriteContractAndWaitParameters,
  type WriteContractAndWaitReturnType,
  writeContractAndWait,
} from './clients/writeContractAndWait.ts';
