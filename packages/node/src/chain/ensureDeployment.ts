import type { ChainClient } from '@carekey/sdk/chain';
import { keccak256 } from 'viem';
import { type DeployedContractName, type Deployment, readDeployment, writeDeployment } from './Deployment.ts';
import { BYTECODE_HASHES, deployContracts, type Governance } from './deployContracts.ts';

export type EnsureDeploymentParameters = {
  /** The deployer's client (the relayer account). */
  client: ChainClient;
  /** The node's data folder (`deployment.json` lives in `<dataDir>/chain/`). */
  dataDir: string;
  /** RecordRegistry's shred delay, used when deploying. */
  shredDelay: number;
  /** TrustedIssuers governance, used when deploying (default: the deployer alone). */
  governance?: Governance | undefined;
};

/** What `ensureDeployment` found and did. */
export type EnsureDeploymentReturnType = {
  deployment: Deployment;
  /**
   * `deployed`: first start, nothing recorded. `reused`: the recorded contracts are live on this chain.
   * `redeployed`: the record did not match the chain (see `reset` and `reason`) and fresh contracts were deployed.
   */
  status: 'deployed' | 'reused' | 'redeployed';
  /**
   * True when the recorded chain is gone: another chain id, another genesis or deploy block,
   * or the contracts' code missing. Everything indexed from the old deployment is stale: the indexer replays.
   */
  reset: boolean;
  /** Why the recorded deployment was not reused. */
  reason?: string;
  /** The deployment that was replaced, if any. */
  previous?: Deployment;
};

/**
 * Deploys the Carekey contracts once and reuses them after a restart.
 *
 * A recorded deployment is reused when the chain id, the genesis block hash,
 * the deploy block hash and the runtime code at each address all match, and the
 * contracts' bytecode and settings are unchanged. Otherwise the chain was reset
 * (`reset: true`) or the contracts changed (`reset: false`), and they are
 * redeployed; `deployment.json` is rewritten atomically.
 *
 * @throws {ChainConfigError} `deployment.json` is unreadable.
 * @throws {ChainError} deploying failed.
 * @example
 * const { deployment, reset } = await ensureDeployment({ client, dataDir, shredDelay: 0 });
 */
export async function ensureDeployment(
  parameters: EnsureDeploymentParameters,
): Promise<EnsureDeploymentReturnType> {
  const { client, dataDir, shredDelay, governance } = parameters;
  const previous = readDeployment(dataDir);
  if (!previous) {
    const deployment = await deployContracts({ client, shredDelay, governance });
    writeDeployment(dataDir, deployment);
    return { deployment, status: 'deployed', reset: false };
  }
  const check = await checkDeployment(client, previous, shredDelay, governance);
  if (check.ok) return { deployment: previous, status: 'reused', reset: false };
  const deployment = await deployContracts({ client, shredDelay, governance });
  writeDeployment(dataDir, deployment);
  return { deployment, status: 'redeployed', reset: check.reset, reason: check.reason, previous };
}

type Check = { ok: true } | { ok: false; reset: boolean; reason: string };

async function checkDeployment(
  client: ChainClient,
  recorded: Deployment,
  shredDelay: number,
  governance: Governance | undefined,
): Promise<Check> {
  const chainId = client.chain.id;
  if (recorded.chainId !== chainId) {
    return {
      ok: false,
      reset: true,
      reason: `chain id is ${chainId}, deployment.json says ${recorded.chainId}`,
    };
  }
  const genesis = await client.getBlock({ blockNumber: 0n });
  if (genesis.hash !== recorded.genesisHash) {
    return {
      ok: false,
      reset: true,
      reason: `genesis block hash is ${genesis.hash}, deployment.json says ${recorded.genesisHash}: the chain was reset (state file lost or replaced) or this is another chain`,
    };
  }
  const deployBlock = await client
    .getBlock({ blockNumber: BigInt(recorded.deployBlock) })
    .catch(() => undefined);
  if (deployBlock?.hash !== recorded.deployBlockHash) {
    return {
      ok: false,
      reset: true,
      reason: `block ${recorded.deployBlock} is ${deployBlock?.hash ?? 'missing'}, deployment.json says ${recorded.deployBlockHash}: the chain was rolled back or rebuilt`,
    };
  }
  for (const name of Object.keys(recorded.contracts) as DeployedContractName[]) {
    const { address, codeHash } = recorded.contracts[name];
    const code = await client.getCode({ address });
    if (!code || code === '0x') {
      return { ok: false, reset: true, reason: `no code at ${name} address ${address}: the chain was reset` };
    }
    if (keccak256(code) !== codeHash) {
      return {
        ok: false,
        reset: true,
        reason: `code at ${name} address ${address} is not the deployed contract`,
      };
    }
  }
  for (const name of Object.keys(BYTECODE_HASHES) as DeployedContractName[]) {
    if (recorded.contracts[name]?.bytecodeHash !== BYTECODE_HASHES[name]) {
      return { ok: false, reset: false, reason: `the ${name} contract changed since it was deployed` };
    }
  }
  if (recorded.settings.shredDelay !== shredDelay) {
    return {
      ok: false,
      reset: false,
      reason: `shred delay changed from ${recorded.settings.shredDelay} s to ${shredDelay} s (a RecordRegistry constructor argument)`,
    };
  }
  const wanted = governance ?? { governors: [recorded.deployer], threshold: 1 };
  if (JSON.stringify(recorded.settings.governance) !== JSON.stringify(wanted)) {
    return { ok: false, reset: false, reason: 'TrustedIssuers governors or threshold changed' };
  }
  return { ok: true };
}
