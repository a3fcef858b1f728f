import type { Address, Hash, Hex, LocalAccount } from 'viem';
import { recordRegistryAbi } from '../abi/index.ts';
import { ShredAction, toShredTypedData } from '../typedData.ts';
import type { ChainClient } from './ChainClient.ts';
import { getSignatureContext } from './getSignatureContext.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type ShredRecordParameters = {
  /** The relayer's client (pays gas). */
  client: ChainClient;
  recordRegistry: Address;
  /** The patient identity. */
  patient: Address;
  /** The patient's current DID owner, who signs. */
  signer: LocalAccount;
  recordId: Hex;
  /**
   * `request`: pending, every access denied from now on; `cancel`: back to normal (within the
   * shred delay); `finalize`: shredded for good (emits `Shredded`), once the delay has passed.
   */
  action: 'request' | 'cancel' | 'finalize';
};

export type ShredRecordReturnType = { hash: Hash; blockNumber: bigint };

const ACTIONS = {
  request: ShredAction.Request,
  cancel: ShredAction.Cancel,
  finalize: ShredAction.Finalize,
} as const;

/**
 * Two-phase erasure on chain (DESIGN.md "Data flow" 7): the patient signs an EIP-712 `Shred`
 * message, the relayer sends `RecordRegistry.shredSigned`.
 *
 * @throws {ContractRevertError} `RecordRegistryShredAlreadyRequested`, `RecordRegistryShredNotPending`,
 *   `RecordRegistryShredTooEarly(recordId, executableAt)`, `RecordRegistryInvalidSignature`.
 * @example
 * await shredRecord({ client: relayer, recordRegistry, patient, signer: patientKey, recordId, action: 'request' });
 */
export async function shredRecord(parameters: ShredRecordParameters): Promise<ShredRecordReturnType> {
  const { client, recordRegistry, patient, signer, recordId } = parameters;
  const action = ACTIONS[parameters.action];
  const { chainId, nonce, deadline } = await getSignatureContext({
    client,
    contract: 'RecordRegistry',
    address: recordRegistry,
    identity: patient,
  });
  const signature = await signer.signTypedData(
    toShredTypedData({
      chainId,
      verifyingContract: recordRegistry,
      message: { patient, recordId, action, nonce, deadline },
    }),
  );
  const { hash, receipt } = await writeContractAndWait({
    client,
    abi: recordRegistryAbi,
    address: recordRegistry,
    contractName: 'RecordRegistry',
    functionName: 'shredSigned',
    args: [patient, recordId, action, nonce, deadline, signature],
  });
  return { hash, blockNumber: receipt.blockNumber };
}
