import { type Hash, type Hex, parseEventLogs } from 'viem';
import { MissingEventError } from '../../errors/chain.ts';
import { consentRegistryAbi } from '../abi/index.ts';
import type { ChainClient } from './ChainClient.ts';
import type { SignedGrant } from './signGrant.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type RelayGrantParameters = {
  /** The relayer's client (pays gas). */
  client: ChainClient;
  /** The patient-signed grant. */
  signedGrant: SignedGrant;
};

export type RelayGrantReturnType = { grantId: Hex; hash: Hash; blockNumber: bigint };

/**
 * Submits a patient-signed grant with `createGrantSigned` and returns the new
 * grant id from the `GrantCreated` event.
 *
 * @throws {ContractRevertError} e.g. `ConsentRegistryInvalidSignature` (not signed by the patient's
 *   owner, or for another chain/contract), `ConsentRegistryInvalidNonce` (replayed),
 *   `ConsentRegistryExpiryInPast`, `ConsentRegistrySignatureExpired`, `ConsentRegistryInvalidScope`.
 * @example
 * const { grantId } = await relayGrant({ client: relayer, signedGrant });
 */
export async function relayGrant(parameters: RelayGrantParameters): Promise<RelayGrantReturnType> {
  const { client, signedGrant } = parameters;
  const m = signedGrant.message;
  const { hash, receipt } = await writeContractAndWait({
    client,
    abi: consentRegistryAbi,
    address: signedGrant.consentRegistry,
    contractName: 'ConsentRegistry',
    functionName: 'createGrantSigned',
    args: [
      m.patient,
      m.grantee,
      m.scopeKind,
      m.scopeData,
      m.purpose,
      m.expiresAt,
      m.requestId,
      m.nonce,
      m.deadline,
      signedGrant.signature,
    ],
  });
  const [event] = parseEventLogs({ abi: consentRegistryAbi, logs: receipt.logs, eventName: 'GrantCreated' });
  if (!event) throw new MissingEventError('GrantCreated', hash);
  return { grantId: event.args.grantId, hash, blockNumber: receipt.blockNumber };
}
