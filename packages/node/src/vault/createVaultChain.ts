import {
  consentRegistryAbi,
  ethereumDidRegistryAbi,
  getEncryptionKey,
  type ReadClient,
  recordRegistryAbi,
  type ScopeKind,
  verifyOwnerSignature,
} from '@carekey/sdk/chain';
import { VaultChainUnavailableError } from '@carekey/sdk/errors';
import type { Address, Hex, BaseError as ViemBaseError } from 'viem';
import { ContractFunctionRevertedError } from 'viem';
import { getBlock, getContractEvents, readContract } from 'viem/actions';
import type { ChainAccessRequest, ChainGrant, ChainHead, VaultChain } from './VaultChain.ts';

export type CreateVaultChainParameters = {
  /** Any viem client that can read the node's chain. */
  client: ReadClient;
  chainId: number;
  contracts: { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
  /** First block to scan for events (the deployment block). */
  fromBlock?: bigint | undefined;
};

export type CreateVaultChainReturnType = VaultChain;

/**
 * The vault's chain reader over viem and the deployed Carekey contracts.
 *
 * @example
 * const chain = createVaultChain({ client: node.chain.client, chainId, contracts: { didRegistry, recordRegistry, consentRegistry } });
 */
export function createVaultChain(parameters: CreateVaultChainParameters): CreateVaultChainReturnType {
  const { client, chainId, contracts } = parameters;
  const fromBlock = parameters.fromBlock ?? 0n;
  const read = async <result>(f: () => Promise<result>): Promise<result> => {
    try {
      return await f();
    } catch (cause) {
      throw new VaultChainUnavailableError({ cause });
    }
  };
  const shredded = () =>
    read(async () => {
      const events = await getContractEvents(client, {
        abi: recordRegistryAbi,
        address: contracts.recordRegistry,
        eventName: 'Shredded',
        fromBlock,
        toBlock: 'latest',
      });
      return events.flatMap((e) =>
        e.args.recordId === undefined || e.args.patient === undefined
          ? []
          : [{ recordId: e.args.recordId as Hex, patient: e.args.patient as Address }],
      );
    });
  return {
    chainId,
    contracts,
    head: () =>
      read(async (): Promise<ChainHead> => {
        const block = await getBlock(client, { blockTag: 'latest' });
        return { number: block.number, timestamp: block.timestamp, hash: block.hash };
      }),
    blockTimestamp: (blockNumber) => read(async () => (await getBlock(client, { blockNumber })).timestamp),
    identityOwner: (identity, blockNumber) =>
      read(() =>
        readContract(client, {
          abi: ethereumDidRegistryAbi,
          address: contracts.didRegistry,
          functionName: 'identityOwner',
          args: [identity],
          blockNumber,
        }),
      ),
    ownerAccepts: (owner, signed, blockNumber) =>
      read(() => verifyOwnerSignature({ client, owner, ...signed, blockNumber })),
    readGrant: async (grantId, blockNumber) => {
      try {
        const grant = await readContract(client, {
          abi: consentRegistryAbi,
          address: contracts.consentRegistry,
          functionName: 'getGrant',
          args: [grantId],
          blockNumber,
        });
        return {
          grantId,
          patient: grant.patient,
          grantee: grant.grantee,
          scopeKind: grant.scopeKind as ScopeKind,
          scopeData: grant.scopeData,
          purpose: grant.purpose,
          createdAt: grant.createdAt,
          expiresAt: grant.expiresAt,
          revoked: grant.revoked,
        } satisfies ChainGrant;
      } catch (error) {
        if (isUnknown(error, 'ConsentRegistryUnknownGrant')) return undefined;
        throw new VaultChainUnavailableError({ cause: error });
      }
    },
    readRequest: async (requestId, blockNumber) => {
      try {
        const request = await readContract(client, {
          abi: consentRegistryAbi,
          address: contracts.consentRegistry,
          functionName: 'getRequest',
          args: [requestId],
          blockNumber,
        });
        return {
          requestId,
          patient: request.patient,
          requester: request.requester,
          scopeKind: request.scopeKind as ScopeKind,
          scopeData: request.scopeData,
          purpose: request.purpose,
          expiresAt: request.expiresAt,
          // RequestStatus: 0 none (unknown, reverts above), 1 pending, 2 approved, 3 denied.
          status: request.status === 2 ? 'approved' : request.status === 3 ? 'denied' : 'pending',
          grantId: request.grantId,
        } satisfies ChainAccessRequest;
      } catch (error) {
        if (isUnknown(error, 'ConsentRegistryUnknownRequest')) return undefined;
        throw new VaultChainUnavailableError({ cause: error });
      }
    },
    readNonce: (contract, identity, blockNumber) =>
      read(() =>
        contract === 'ConsentRegistry'
          ? readContract(client, {
              abi: consentRegistryAbi,
              address: contracts.consentRegistry,
              functionName: 'nonces',
              args: [identity],
              blockNumber,
            })
          : readContract(client, {
              abi: recordRegistryAbi,
              address: contracts.recordRegistry,
              functionName: 'nonces',
              args: [identity],
              blockNumber,
            }),
      ),
    grantCount: (patient, blockNumber) =>
      read(() =>
        readContract(client, {
          abi: consentRegistryAbi,
          address: contracts.consentRegistry,
          functionName: 'grantCount',
          args: [patient],
          blockNumber,
        }),
      ),
    encryptionKey: (identity) =>
      read(() => getEncryptionKey({ client, didRegistry: contracts.didRegistry, identity, fromBlock })),
    shreddedRecords: () => shredded(),
    shreddedRecordIds: async () => (await shredded()).map((s) => s.recordId),
  };
}

function isUnknown(error: unknown, errorName: string): boolean {
  const walked = (error as ViemBaseError | undefined)?.walk?.(
    (e) => e instanceof ContractFunctionRevertedError,
  );
  return walked instanceof ContractFunctionRevertedError && walked.data?.errorName === errorName;
}
