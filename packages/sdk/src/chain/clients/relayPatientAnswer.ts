import type { Address, Hash, Hex, LocalAccount } from 'viem';
import { readContract } from 'viem/actions';
import { consentRegistryAbi } from '../abi/index.ts';
import { toDenyTypedData, toRevokeTypedData } from '../typedData.ts';
import type { ChainClient } from './ChainClient.ts';
import { getSignatureContext } from './getSignatureContext.ts';
import { toContractRevertError } from './toContractRevertError.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

/** The two answers a patient signs about one existing item: revoke a grant, deny an access request. */
export type PatientAnswer = { kind: 'Revoke'; grantId: Hex } | { kind: 'Deny'; requestId: Hex };

export type RelayPatientAnswerParameters = {
  /** The relayer's client (pays gas). */
  client: ChainClient;
  consentRegistry: Address;
  answer: PatientAnswer;
  /** The patient's current DID owner. */
  signer: LocalAccount;
};

export type RelayPatientAnswerReturnType = { hash: Hash; blockNumber: bigint };

/**
 * The relayed-signature flow `revokeGrant` and `denyAccessRequest` share: reads the item's patient from the chain
 * (`getGrant` / `getRequest`, reverting for an unknown id), takes the patient's nonce and a chain-time deadline,
 * has the patient's owner sign the EIP-712 `Revoke` or `Deny`, and sends `revokeGrantSigned` /
 * `denyRequestSigned` from the relayer.
 *
 * @throws {ContractRevertError} `ConsentRegistryUnknownGrant` / `ConsentRegistryUnknownRequest`,
 *   `ConsentRegistryGrantAlreadyRevoked` / `ConsentRegistryRequestNotPending`, `ConsentRegistryInvalidSignature`.
 * @example
 * await relayPatientAnswer({ client: relayer, consentRegistry, answer: { kind: 'Deny', requestId }, signer });
 */
export async function relayPatientAnswer(
  parameters: RelayPatientAnswerParameters,
): Promise<RelayPatientAnswerReturnType> {
  const { client, consentRegistry, answer, signer } = parameters;
  const getter = answer.kind === 'Revoke' ? 'getGrant' : 'getRequest';
  let patient: Address;
  try {
    ({ patient } =
      answer.kind === 'Revoke'
        ? await readContract(client, {
            abi: consentRegistryAbi,
            address: consentRegistry,
            functionName: 'getGrant',
            args: [answer.grantId],
          })
        : await readContract(client, {
            abi: consentRegistryAbi,
            address: consentRegistry,
            functionName: 'getRequest',
            args: [answer.requestId],
          }));
  } catch (error) {
    throw toContractRevertError({ call: `ConsentRegistry.${getter}`, error });
  }
  const { chainId, nonce, deadline } = await getSignatureContext({
    client,
    contract: 'ConsentRegistry',
    address: consentRegistry,
    identity: patient,
  });
  const domain = { chainId, verifyingContract: consentRegistry };
  const written =
    answer.kind === 'Revoke'
      ? await writeContractAndWait({
          client,
          abi: consentRegistryAbi,
          address: consentRegistry,
          contractName: 'ConsentRegistry',
          functionName: 'revokeGrantSigned',
          args: [
            answer.grantId,
            nonce,
            deadline,
            await signer.signTypedData(
              toRevokeTypedData({
                ...domain,
                message: { patient, grantId: answer.grantId, nonce, deadline },
              }),
            ),
          ],
        })
      : await writeContractAndWait({
          client,
          abi: consentRegistryAbi,
          address: consentRegistry,
          contractName: 'ConsentRegistry',
          functionName: 'denyRequestSigned',
          args: [
            answer.requestId,
            nonce,
            deadline,
            await signer.signTypedData(
              toDenyTypedData({
                ...domain,
                message: { patient, requestId: answer.requestId, nonce, deadline },
              }),
            ),
          ],
        });
  return { hash: written.hash, blockNumber: written.receipt.blockNumber };
}
