/** `@carekey/node/chain`: the node's ledger: embedded anvil, deployment record, reset detection. */
export {
  type ContractName,
  type DeployedContract,
  type Deployment,
  deploymentPath,
  readDeployment,
  writeDeployment,
} from './Deployment.ts';
export {
  BYTECODE_HASHES,
  type DeployContractsParameters,
  type DeployContractsReturnType,
  deployContracts,
  type Governance,
} from './deployContracts.ts';
export {
  type EnsureDeploymentParameters,
  type EnsureDeploymentReturnType,
  ensureDeployment,
} from './ensureDeployment.ts';
export { type FindAnvilParameters, type FindAnvilReturnType, findAnvil } from './findAnvil.ts';
export {
  type Anvil,
  EMBEDDED_CHAIN_ID,
  type StartAnvilParameters,
  type StartAnvilReturnType,
  startAnvil,
} from './startAnvil.ts';
export {
  ANVIL_DEV_MNEMONIC,
  type Chain,
  type StartChainParameters,
  type StartChainReturnType,
  startChain,
} from './startChain.ts';
