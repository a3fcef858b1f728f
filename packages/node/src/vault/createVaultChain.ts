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
import { ContractFunctionRevertedError, hexToBigInt, isHex } from 'viem';
import { getBlock, getContractEvents, readContract } from 'viem/actions';
import { getWebSocketRpcClient, type SocketRpcClient } from 'viem/utils';
import type { ChainAccessRequest, ChainGrant, ChainHead, VaultChain } from './VaultChain.ts';

export type CreateVaultChainParameters = {
  /** Any viem client that can read the node's chain. */
  client: ReadClient;
  chainId: number;
  contracts: { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
  /** First block to scan for events (the deployment block). */
  fromBlock?: bigint | undefined;
  /**
   * A WebSocket JSON-RPC endpoint of the same chain (`ws://…`; the embedded anvil serves one on its HTTP port) for
   * the head read, the one chain read made for every batch of arriving requests: over a socket kept open it costs
   * ≈ 1/15 of the CPU of viem's HTTP `fetch` (no request, headers or stream objects per read). Still sent when the
   * head is asked for; when the socket cannot be used (refused, closed, an error or a timeout), that read goes over
   * `client` instead and the socket is opened again on a later read, at most every {@link SOCKET_RETRY_MS} ms.
   * Default: every read over `client`.
   */
  headSocketUrl?: string | undefined;
};

export type CreateVaultChainReturnType = VaultChain & {
  /** Closes the head socket, if one is open (later head reads go over `client`). */
  close(): Promise<void>;
};

/** How long a head socket that failed is left alone before it is opened again, ms. */
export const SOCKET_RETRY_MS = 5_000;
/** Longest wait for a head read over the socket before it is read over `client` instead, ms (viem's default). */
const SOCKET_TIMEOUT_MS = 10_000;

/**
 * The vault's chain reader over viem and the deployed Carekey contracts.
 *
 * @example
 * const chain = createVaultChain({ client: node.chain.client, chainId, contracts: { didRegistry, recordRegistry, consentRegistry } });
 */
export function createVaultChain(parameters: CreateVaultChainParameters): CreateVaultChainReturnType {
  const { client, chainId, contracts, headSocketUrl } = parameters;
  const fromBlock = parameters.fromBlock ?? 0n;
  let socket: Promise<SocketRpcClient<WebSocket>> | undefined;
  let socketRetryAt = 0;
  let closed = false;
  const socketHead = async (): Promise<ChainHead | undefined> => {
    if (headSocketUrl === undefined || closed || performance.now() < socketRetryAt) return undefined;
    socket ??= getWebSocketRpcClient(headSocketUrl, { keepAlive: false, reconnect: false });
    const used = socket;
    try {
      const response = await (await used).requestAsync({
        body: { method: 'eth_getBlockByNumber', params: ['latest', false] },
        timeout: SOCKET_TIMEOUT_MS,
      });
      return toHead(response.result);
    } catch {
      if (socket === used) {
        socket = undefined;
        socketRetryAt = performance.now() + SOCKET_RETRY_MS;
        used.then(
          (s) => s.close(),
          () => {},
        );
      }
      return undefined;
    }
  };
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
        const overSocket = await socketHead();
        if (overSocket !== undefined) return overSocket;
        const block = await getBlock(client, { blockTag: 'latest' });
        return { number: block.number, timestamp: block.timestamp, hash: block.hash };
      }),
    close: async () => {
      closed = true;
      const open = socket;
      socket = undefined;
      await open?.then(
        (s) => s.close(),
        () => {},
      );
    },
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

/**
 * The head from an `eth_getBlockByNumber` answer, or a throw when it is not a block (the read then goes over HTTP).
 */
function toHead(block: unknown): ChainHead {
  const { number, timestamp, hash } = (block ?? {}) as {
    number?: unknown;
    timestamp?: unknown;
    hash?: unknown;
  };
  if (!isHex(number) || !isHex(timestamp) || !isHex(hash) || hash.length !== 66)
    throw new Error('not a block');
  return { number: hexToBigInt(number), timestamp: hexToBigInt(timestamp), hash };
}

function isUnknown(error: unknown, errorName: string): boolean {
  const walked = (error as ViemBaseError | undefined)?.walk?.(
    (e) => e instanceof ContractFunctionRevertedError,
  );
  return walked instanceof ContractFunctionRevertedError && walked.data?.errorName === errorName;
}
