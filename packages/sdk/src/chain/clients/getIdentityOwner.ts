import type { Address, Client } from 'viem';
import { readContract } from 'viem/actions';
import { ethereumDidRegistryAbi } from '../abi/index.ts';
import { toContractRevertError } from './toContractRevertError.ts';

export type GetIdentityOwnerParameters = {
  client: Client;
  /** The ERC-1056 registry. */
  didRegistry: Address;
  /** The `did:ethr` identity address. */
  identity: Address;
};

/** The address currently controlling the identity (the identity itself until `changeOwner`). */
export type GetIdentityOwnerReturnType = Address;

/**
 * Reads `identityOwner(identity)`: the key every Carekey contract authorises the identity through.
 *
 * @example
 * const owner = await getIdentityOwner({ client, didRegistry, identity: patient });
 */
export async function getIdentityOwner(
  parameters: GetIdentityOwnerParameters,
): Promise<GetIdentityOwnerReturnType> {
  try {
    return await readContract(parameters.client, {
      abi: ethereumDidRegistryAbi,
      address: parameters.didRegistry,
      functionName: 'identityOwner',
      args: [parameters.identity],
    });
  } catch (error) {
    throw toContractRevertError({ call: 'EthereumDIDRegistry.identityOwner', error });
  }
}
