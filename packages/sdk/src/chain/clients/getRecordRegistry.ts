import { type Address, type Client, type GetContractReturnType, getContract } from 'viem';
import { recordRegistryAbi } from '../abi/index.ts';

export type GetRecordRegistryParameters<client extends Client> = {
  /** Deployed address (from the node's `deployment.json`). */
  address: Address;
  /** A public client for reads, or a wallet client (with public actions) for writes too. */
  client: client;
};

export type GetRecordRegistryReturnType<client extends Client> = GetContractReturnType<
  typeof recordRegistryAbi,
  client,
  Address
>;

/**
 * A typed viem contract instance for `RecordRegistry` (batch roots, shred tombstones).
 *
 * @example
 * const registry = getRecordRegistry({ address, client });
 */
export function getRecordRegistry<client extends Client>(
  parameters: GetRecordRegistryParameters<client>,
): GetRecordRegistryReturnType<client> {
  return getContract({ abi: recordRegistryAbi, address: parameters.address, client: parameters.client });
}
