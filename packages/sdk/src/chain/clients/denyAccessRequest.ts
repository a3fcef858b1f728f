import type { Address, Hash, Hex, LocalAccount } from 'viem';
import type { ChainClient } from './ChainClient.ts';
import { relayPatientAnswer } from './relayPatientAnswer.ts';

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
  return relayPatientAnswer({ client, consentRegistry, answer: { kind: 'Deny', requestId }, signer });
}
