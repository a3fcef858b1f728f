import type { Address, Client } from 'viem';
import { getBlock, getChainId, readContract } from 'viem/actions';
import { consentRegistryAbi, recordRegistryAbi } from '../abi/index.ts';
import { toContractRevertError } from './toContractRevertError.ts';

/** Default lifetime of a relayed signature: 10 minutes of chain time. */
export const DEFAULT_SIGNATURE_TTL = 600n;

export type GetSignatureContextParameters = {
  client: Client;
  /** Which contract will verify the signature (nonces are per contract). */
  contract: 'ConsentRegistry' | 'RecordRegistry';
  address: Address;
  /** The identity acting (patient, publisher or requester). */
  identity: Address;
  /** Explicit nonce (default: the contract's `nonces(identity)`). */
  nonce?: bigint | undefined;
  /** Explicit deadline (default: latest block time + {@link DEFAULT_SIGNATURE_TTL}). */
  deadline?: bigint | undefined;
};

export type GetSignatureContextReturnType = { chainId: number; nonce: bigint; deadline: bigint };

/**
 * What an EIP-712 relayed action must carry besides its terms: the chain id, the
 * identity's next nonce on that contract, and a deadline in *chain* time (so a
 * skewed local clock cannot make a signature expire early or live long).
 */
export async function getSignatureContext(
  parameters: GetSignatureContextParameters,
): Promise<GetSignatureContextReturnType> {
  const { client, contract, address, identity } = parameters;
  try {
    const [chainId, nonce, deadline] = await Promise.all([
      getChainId(client),
      parameters.nonce ??
        readContract(client, {
          abi: contract === 'ConsentRegistry' ? consentRegistryAbi : recordRegistryAbi,
          address,
          functionName: 'nonces',
          args: [identity],
        }),
      parameters.deadline ??
        getBlock(client, { blockTag: 'latest' }).then((block) => block.timestamp + DEFAULT_SIGNATURE_TTL),
    ]);
    return { chainId, nonce, deadline };
  } catch (error) {
    throw toContractRevertError({ call: `${contract}.nonces`, error });
  }
}
