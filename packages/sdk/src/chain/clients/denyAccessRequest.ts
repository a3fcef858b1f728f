import type { Address, Hash, Hex, LocalAccount } from 'viem';
import { readContract } from 'viem/actions';
import { consentRegistryAbi } from '../abi/index.ts';
import { toDenyTypedData } from '../typedData.ts';
import type { ChainClient } from './ChainClient.ts';
import { getSignatureContext } from './getSignatureContext.ts';
import { toContractRevertError } from './toContractRevertError.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type DenyAccessRequestParameters = {
  /** The relayer's client (pays gas). */
  client: ChainClient;
  consentRegistry: Address;
  requestId: Hex;
  /** The patient's current DID owner. */
  signer: LocalAccount;
};

export type DenyAccessRequestReturnType = { hash: Hash; blockNumber: bigint };

/**
 * Denies a pending access request: the patient signs EIP-712 `Deny`, the relayer sends
 * `denyRequestSigned`. (Approving is a grant carrying the `requestId`: see `grantAccess`.)
 *
 * @throws {ContractRevertError} `ConsentRegistryUnknownRequest`, `ConsentRegistryRequestNotPending`,
 *   `ConsentRegistryInvalidSignature`.
 * @example
 * await denyAccessRequest({ client: relayer, consentRegistry, requestId, signer: patientKey });
 */
export async function denyAccessRequest(
  parameters: DenyAccessRequestParameters,
): Promise<DenyAccessRequestReturnType> {
  const { client, consentRegistry, requestId, signer } = parameters;
  let patient: Address;
  try {
    ({ patient } = await readContract(client, {
      abi: consentRegistryAbi,
      address: consentRegistry,
      functionName: 'getRequest',
      args: [requestId],
    }));
  } catch (error) {
    throw toContractRevertError({ call: 'ConsentRegistry.getRequest', error });
  }
  const { chainId, nonce, deadline } = await getSignatureContext({
    client,
    contract: 'ConsentRegistry',
    address: consentRegistry,
    identity: patient,
  });
  const signature = await signer.signTypedData(
    toDenyTypedData({
      chainId,
      verifyingContract: consentRegistry,
      message: { patient, requestId, nonce, deadline },
    }),
  );
  const { hash, receipt } = await writeContractAndWait({
    client,
    abi: consentRegistryAbi,
    address: consentRegistry,
    contractName: 'ConsentRegistry',
    functionName: 'denyRequestSigned',
    args: [requestId, nonce, deadline, signature],
  });
  return { hash, blockNumber: receipt.blockNumber };
}
