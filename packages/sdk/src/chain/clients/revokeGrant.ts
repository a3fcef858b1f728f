import type { Address, Hash, Hex, LocalAccount } from 'viem';
import { readContract } from 'viem/actions';
import { consentRegistryAbi } from '../abi/index.ts';
import { toRevokeTypedData } from '../typedData.ts';
import type { ChainClient } from './ChainClient.ts';
import { getSignatureContext } from './getSignatureContext.ts';
import { toContractRevertError } from './toContractRevertError.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type RevokeGrantParameters = {
  /** The relayer's client (pays gas). */
  client: ChainClient;
  consentRegistry: Address;
  grantId: Hex;
  /** The patient's current DID owner. */
  signer: LocalAccount;
};

export type RevokeGrantReturnType = { hash: Hash; blockNumber: bigint };

/**
 * Revokes a grant: the patient signs EIP-712 `Revoke`, the relayer sends
 * `revokeGrantSigned`. `isActive` is false from the block that includes it (T-4).
 *
 * @throws {ContractRevertError} `ConsentRegistryUnknownGrant`, `ConsentRegistryGrantAlreadyRevoked`,
 *   `ConsentRegistryInvalidSignature` (signer is not the patient's owner).
 * @example
 * await revokeGrant({ client: relayer, consentRegistry, grantId, signer: patientKey });
 */
export async function revokeGrant(parameters: RevokeGrantParameters): Promise<RevokeGrantReturnType> {
  const { client, consentRegistry, grantId, signer } = parameters;
  let patient: Address;
  try {
    ({ patient } = await readContract(client, {
      abi: consentRegistryAbi,
      address: consentRegistry,
      functionName: 'getGrant',
      args: [grantId],
    }));
  } catch (error) {
    throw toContractRevertError({ call: 'ConsentRegistry.getGrant', error });
  }
  const { chainId, nonce, deadline } = await getSignatureContext({
    client,
    contract: 'ConsentRegistry',
    address: consentRegistry,
    identity: patient,
  });
  const signature = await signer.signTypedData(
    toRevokeTypedData({
      chainId,
      verifyingContract: consentRegistry,
      message: { patient, grantId, nonce, deadline },
    }),
  );
  const { hash, receipt } = await writeContractAndWait({
    client,
    abi: consentRegistryAbi,
    address: consentRegistry,
    contractName: 'ConsentRegistry',
    functionName: 'revokeGrantSigned',
    args: [grantId, nonce, deadline, signature],
  });
  return { hash, blockNumber: receipt.blockNumber };
}
