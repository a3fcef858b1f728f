import { type Address, type Client, type GetContractReturnType, getContract } from 'viem';
import { consentRegistryAbi } from '../abi/index.ts';

export type GetConsentRegistryParameters<client extends Client> = {
  /** Deployed address (from the node's `deployment.json`). */
  address: Address;
  /** A public client for reads, or a wallet client (with public actions) for writes too. */
  client: client;
};

export type GetConsentRegistryReturnType<client extends Client> = GetContractReturnType<
  typeof consentRegistryAbi,
  client,
  Address
>;

/**
 * A typed viem contract instance for `ConsentRegistry` (grants, revocations, access requests).
 *
 * @example
 * const registry = getConsentRegistry({ address, client });
 */
export function getConsentRegistry<client extends Client>(
  parameters: GetConsentRegistryParameters<client>,
): GetConsentRegistryReturnType<client> {
  return getContract({ abi: consentRegistryAbi, address: parameters.address, client: parameters.client });
}
