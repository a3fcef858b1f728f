import { type Address, type Client, type GetContractReturnType, getContract } from 'viem';
import { ethereumDidRegistryAbi } from '../abi/index.ts';

export type GetDidRegistryParameters<client extends Client> = {
  /** Deployed address (from the node's `deployment.json`). */
  address: Address;
  /** A public client for reads, or a wallet client (with public actions) for writes too. */
  client: client;
};

export type GetDidRegistryReturnType<client extends Client> = GetContractReturnType<
  typeof ethereumDidRegistryAbi,
  client,
  Address
>;

/**
 * A typed viem contract instance for the ERC-1056 `EthereumDIDRegistry` (identity owners, delegates, attributes).
 *
 * @example
 * const registry = getDidRegistry({ address, client });
 */
export function getDidRegistry<client extends Client>(
  parameters: GetDidRegistryParameters<client>,
): GetDidRegistryReturnType<client> {
  return getContract({ abi: ethereumDidRegistryAbi, address: parameters.address, client: parameters.client });
}
