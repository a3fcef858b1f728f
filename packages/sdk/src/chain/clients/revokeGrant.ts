import type { Address, Hash, Hex, LocalAccount } from 'viem';
import type { ChainClient } from './ChainClient.ts';
import { relayPatientAnswer } from './relayPatientAnswer.ts';

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
  return relayPatientAnswer({ client, consentRegistry, answer: { kind: 'Revoke', grantId }, signer });
}
