import { type Account, createWalletClient, defineChain, http, publicActions } from 'viem';
import type { ChainClient } from './ChainClient.ts';

export type CreateChainClientParameters = {
  /** JSON-RPC endpoint, e.g. `http://127.0.0.1:8545`. */
  rpcUrl: string;
  /** The chain id the endpoint serves (checked by viem when sending). */
  chainId: number;
  /** The account that signs and pays for transactions (the node's relayer). */
  account: Account;
  /** How often to poll for receipts and blocks, in ms (default 250: the embedded chain mines every second). */
  pollingInterval?: number | undefined;
};

export type CreateChainClientReturnType = ChainClient;

/**
 * Creates the read/write viem client every Carekey chain helper takes.
 *
 * @example
 * const client = createChainClient({ rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, account: relayer });
 */
export function createChainClient(parameters: CreateChainClientParameters): CreateChainClientReturnType {
  const chain = defineChain({
    id: parameters.chainId,
    name: `carekey-${parameters.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [parameters.rpcUrl] } },
  });
  return createWalletClient({
    account: parameters.account,
    chain,
    transport: http(parameters.rpcUrl),
    pollingInterval: parameters.pollingInterval ?? 250,
    cacheTime: 0,
  }).extend(publicActions);
}
