import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ChainConfigError, DataDirError } from '@carekey/sdk/errors';
import { type Address, type Hex, isAddress, isHex } from 'viem';

/** One deployed contract as recorded. */
export type DeployedContract = {
  address: Address;
  /** keccak256 of the creation bytecode (without constructor arguments) that was deployed. */
  bytecodeHash: Hex;
  /** keccak256 of the runtime code found at `address` right after deployment. */
  codeHash: Hex;
};

/** The contracts a Carekey node deploys and indexes, by role. */
export type ContractName = 'didRegistry' | 'recordRegistry' | 'consentRegistry' | 'recovery';

/** Every contract a Carekey node deploys (the indexed ones, and `TrustedIssuers`, `Recovery` and `Emergency`, read at the head). */
export type DeployedContractName = ContractName | 'trustedIssuers' | 'emergency';

/** `<dataDir>/chain/deployment.json`: where the node's contracts live and how to recognise the chain they live on. */
export type Deployment = {
  version: 1;
  chainId: number;
  /** Hash of block 0: a chain restarted from scratch has another one. */
  genesisHash: Hex;
  /** Block holding the first deployment transaction; indexers start here. */
  deployBlock: number;
  /** Its hash, to notice a chain that was rebuilt to the same height. */
  deployBlockHash: Hex;
  deployer: Address;
  /** ISO time of deployment (informative). */
  deployedAt: string;
  /** Constructor settings that are part of the deployment. */
  settings: { shredDelay: number; governance?: { governors: Address[]; threshold: number } };
  contracts: Record<DeployedContractName, DeployedContract>;
};

/** Path of the deployment record in a data folder. */
export function deploymentPath(dataDir: string): string {
  return join(dataDir, 'chain', 'deployment.json');
}

/**
 * Reads `<dataDir>/chain/deployment.json`, or `undefined` if there is none yet.
 *
 * @throws {ChainConfigError} the file exists but is not a deployment record.
 */
export function readDeployment(dataDir: string): Deployment | undefined {
  const path = deploymentPath(dataDir);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ChainConfigError(`'${path}' is not valid JSON`, {
      hint: 'restore it from a backup, or delete it to deploy fresh contracts',
      cause,
    });
  }
  if (!isDeployment(parsed)) {
    throw new ChainConfigError(`'${path}' is not a Carekey deployment record (version 1)`, {
      hint: 'restore it from a backup, or delete it to deploy fresh contracts',
    });
  }
  return parsed;
}

/**
 * Writes the deployment record atomically (temp file, then rename).
 *
 * @throws {DataDirError} the data folder cannot be written.
 */
export function writeDeployment(dataDir: string, deployment: Deployment): void {
  const path = deploymentPath(dataDir);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temp, `${JSON.stringify(deployment, null, 2)}\n`, { flush: true });
    renameSync(temp, path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new DataDirError(dataDir, `cannot write '${path}' (${code})`, { cause });
  }
}

function isDeployment(value: unknown): value is Deployment {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Partial<Deployment>;
  const contractOk = (c: DeployedContract | undefined) =>
    c !== undefined && isAddress(c.address) && isHex(c.bytecodeHash) && isHex(c.codeHash);
  return (
    d.version === 1 &&
    typeof d.chainId === 'number' &&
    isHex(d.genesisHash) &&
    typeof d.deployBlock === 'number' &&
    isHex(d.deployBlockHash) &&
    typeof d.deployer === 'string' &&
    typeof d.settings?.shredDelay === 'number' &&
    d.contracts !== undefined &&
    contractOk(d.contracts.didRegistry) &&
    contractOk(d.contracts.recordRegistry) &&
    contractOk(d.contracts.consentRegistry)
  );
}
