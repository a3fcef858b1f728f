import { type Address, type Hash, type Hex, type LocalAccount, parseEventLogs } from 'viem';
import { MissingEventError } from '../../errors/chain.ts';
import { consentRegistryAbi } from '../abi/index.ts';
import { type ScopeKind, toAccessRequestTypedData } from '../typedData.ts';
import type { ChainClient } from './ChainClient.ts';
import { getSignatureContext } from './getSignatureContext.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type RequestAccessParameters = {
  /** The relayer's client (pays gas). */
  client: ChainClient;
  consentRegistry: Address;
  /** The requesting identity (a provider's, researcher's or insurer's DID). */
  requester: Address;
  /** The requester's current DID owner, who signs. */
  signer: LocalAccount;
  /** The patient asked. */
  patient: Address;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  /** HL7 PurposeOfUse as bytes32. */
  purpose: Hex;
  /** Expiry asked for (chain time, s). */
  expiresAt: bigint;
};

export type RequestAccessReturnType = { requestId: Hex; hash: Hash; blockNumber: bigint };

/**
 * Asks a patient for access: the requester signs EIP-712 `AccessRequest`, the relayer sends
 * `requestAccessSigned`. The patient answers with a grant carrying `requestId`, or denies.
 *
 * @throws {ContractRevertError} e.g. `ConsentRegistryInvalidSignature`, `ConsentRegistryExpiryInPast`,
 *   `ConsentRegistryZeroPurpose`, `ConsentRegistryInvalidScope`.
 * @example
 * const { requestId } = await requestAccess({ client: relayer, consentRegistry, requester: clinic, signer: clinicKey,
 *   patient, scopeKind: ScopeKind.All, scopeData: [], purpose: purposeOfUse('TREAT'), expiresAt });
 */
export async function requestAccess(parameters: RequestAccessParameters): Promise<RequestAccessReturnType> {
  const { client, consentRegistry, requester, signer } = parameters;
  const { chainId, nonce, deadline } = await getSignatureContext({
    client,
    contract: 'ConsentRegistry',
    address: consentRegistry,
    identity: requester,
  });
  const message = {
    requester,
    patient: parameters.patient,
    scopeKind: parameters.scopeKind,
    scopeData: parameters.scopeData,
    purpose: parameters.purpose,
    expiresAt: parameters.expiresAt,
    nonce,
    deadline,
  };
  const signature = await signer.signTypedData(
    toAccessRequestTypedData({ chainId, verifyingContract: consentRegistry, message }),
  );
  const { hash, receipt } = await writeContractAndWait({
    client,
    abi: consentRegistryAbi,
    address: consentRegistry,
    contractName: 'ConsentRegistry',
    functionName: 'requestAccessSigned',
    args: [
      requester,
      message.patient,
      message.scopeKind,
      message.scopeData,
      message.purpose,
      message.expiresAt,
      nonce,
      deadline,
      signature,
    ],
  });
  const [event] = parseEventLogs({
    abi: consentRegistryAbi,
    logs: receipt.logs,
    eventName: 'AccessRequested',
  });
  if (!event) throw new MissingEventError('AccessRequested', hash);
  return { requestId: event.args.requestId, hash, blockNumber: receipt.blockNumber };
}
