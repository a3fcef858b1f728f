import type { ChainClient } from '@carekey/sdk/chain';
import {
  consentRegistryAbi,
  consentRegistryBytecode,
  ethereumDidRegistryAbi,
  ethereumDidRegistryBytecode,
  recordRegistryAbi,
  recordRegistryBytecode,
  recoveryAbi,
  recoveryBytecode,
} from '@carekey/sdk/chain';
import { emergencyAbi, emergencyBytecode } from '@carekey/sdk/emergency';
import { ChainError } from '@carekey/sdk/errors';
import { trustedIssuersAbi, trustedIssuersBytecode } from '@carekey/sdk/identity';
import { type Address, getAddress, getContractAddress, type Hash, keccak256 } from 'viem';
import type { Deployment } from './Deployment.ts';

export type DeployContractsParameters = {
  /** The deployer's client (the relayer account pays). */
  client: ChainClient;
  /** Seconds a shred stays pending before it can be finalised (RecordRegistry constructor). */
  shredDelay: number;
  /** TrustedIssuers governors (DID identities) and approvals needed; default: the deployer alone, 1 of 1. */
  governance?: Governance | undefined;
};

/** Who governs the `TrustedIssuers` list: `threshold` of the `governors` must approve each change. */
export type Governance = { governors: Address[]; threshold: number };

export type DeployContractsReturnType = Deployment;

/** keccak256 of each contract's creation bytecode, to notice contracts that changed since deployment. */
export const BYTECODE_HASHES = {
  didRegistry: keccak256(ethereumDidRegistryBytecode),
  recordRegistry: keccak256(recordRegistryBytecode),
  consentRegistry: keccak256(consentRegistryBytecode),
  trustedIssuers: keccak256(trustedIssuersBytecode),
  recovery: keccak256(recoveryBytecode),
  emergency: keccak256(emergencyBytecode),
} as const;

/**
 * Deploys the ERC-1056 `EthereumDIDRegistry`, `RecordRegistry(didRegistry, shredDelay)` and
 * `ConsentRegistry(didRegistry)`, `TrustedIssuers(didRegistry, governors, threshold)` and `Recovery(didRegistry)`.
 *
 * The three transactions go out back to back with consecutive nonces (the
 * registries' constructor argument is the DID registry's predicted address),
 * so on a chain with a block time they land in one block.
 *
 * @throws {ChainError} a deployment transaction failed or left no code.
 */
export async function deployContracts(
  parameters: DeployContractsParameters,
): Promise<DeployContractsReturnType> {
  const { client, shredDelay } = parameters;
  const deployer = client.account.address;
  const governance = parameters.governance ?? { governors: [deployer], threshold: 1 };
  try {
    const nonce = await client.getTransactionCount({ address: deployer, blockTag: 'pending' });
    const didRegistry = getContractAddress({ from: deployer, nonce: BigInt(nonce) });
    const hashes: Hash[] = [
      await client.deployContract({
        abi: ethereumDidRegistryAbi,
        bytecode: ethereumDidRegistryBytecode,
        nonce,
      }),
      await client.deployContract({
        abi: recordRegistryAbi,
        bytecode: recordRegistryBytecode,
        args: [didRegistry, BigInt(shredDelay)],
        nonce: nonce + 1,
      }),
      await client.deployContract({
        abi: consentRegistryAbi,
        bytecode: consentRegistryBytecode,
        args: [didRegistry],
        nonce: nonce + 2,
      }),
      await client.deployContract({
        abi: trustedIssuersAbi,
        bytecode: trustedIssuersBytecode,
        args: [didRegistry, governance.governors, BigInt(governance.threshold)],
        nonce: nonce + 3,
      }),
      await client.deployContract({
        abi: recoveryAbi,
        bytecode: recoveryBytecode,
        args: [didRegistry],
        nonce: nonce + 4,
      }),
      // Emergency's operator is the deployer: the relayer that records break-glass uses (docs/emergency.md).
      await client.deployContract({
        abi: emergencyAbi,
        bytecode: emergencyBytecode,
        args: [didRegistry, deployer],
        nonce: nonce + 5,
      }),
    ];
    const receipts = await Promise.all(hashes.map((hash) => client.waitForTransactionReceipt({ hash })));
    const names = [
      'didRegistry',
      'recordRegistry',
      'consentRegistry',
      'trustedIssuers',
      'recovery',
      'emergency',
    ] as const;
    const contracts = {} as Deployment['contracts'];
    for (const [i, name] of names.entries()) {
      const receipt = receipts[i];
      if (receipt?.status !== 'success' || !receipt.contractAddress) {
        throw new ChainError(`deploying ${name} failed (transaction ${hashes[i]})`, {
          hint: 'check that the deployer account has funds on this chain',
        });
      }
      const code = await client.getCode({ address: receipt.contractAddress });
      if (!code || code === '0x')
        throw new ChainError(`deploying ${name} left no code at ${receipt.contractAddress}`);
      contracts[name] = {
        address: getAddress(receipt.contractAddress),
        bytecodeHash: BYTECODE_HASHES[name],
        codeHash: keccak256(code),
      };
    }
    // The lowest nonce is mined first, so the first receipt holds the deploy block.
    const deployBlock = receipts[0]?.blockNumber ?? 0n;
    const [genesis, block] = await Promise.all([
      client.getBlock({ blockNumber: 0n }),
      client.getBlock({ blockNumber: deployBlock }),
    ]);
    return {
      version: 1,
      chainId: client.chain.id,
      genesisHash: genesis.hash,
      deployBlock: Number(deployBlock),
      deployBlockHash: block.hash,
      deployer,
      deployedAt: new Date().toISOString(),
      settings: { shredDelay, governance },
      contracts,
    };
  } catch (error) {
    if (error instanceof ChainError) throw error;
    throw new ChainError(
      `deploying the Carekey contracts failed: ${(error as Error).message.split('\n')[0]}`,
      {
        cause: error,
        hint: 'check the RPC endpoint and that the relayer account has funds',
      },
    );
  }
}
