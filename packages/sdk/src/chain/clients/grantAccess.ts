import type { ChainClient } from './ChainClient.ts';
import { type RelayGrantReturnType, relayGrant } from './relayGrant.ts';
import { type SignGrantParameters, signGrant } from './signGrant.ts';

export type GrantAccessParameters = Omit<SignGrantParameters, 'client'> & {
  /** The relayer's client: reads the nonce and chain time, and pays for the transaction. */
  client: ChainClient;
};

export type GrantAccessReturnType = RelayGrantReturnType;

/**
 * Signs a grant as the patient (EIP-712) and relays it: `signGrant` then `relayGrant`.
 *
 * @throws {ContractRevertError} see `relayGrant`.
 * @example
 * const { grantId } = await grantAccess({ client: relayer, consentRegistry, signer: patientKey,
 *   patient, grantee, scopeKind: ScopeKind.Categories, scopeData: [tag], purpose: purposeOfUse('TREAT'), expiresAt });
 */
export async function grantAccess(parameters: GrantAccessParameters): Promise<GrantAccessReturnType> {
  const signedGrant = await signGrant(parameters);
  return relayGrant({ client: parameters.client, signedGrant });
}
