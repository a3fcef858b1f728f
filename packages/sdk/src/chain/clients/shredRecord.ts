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
  recordId: Hex;
} & (
  | {
      /**
       * `request`: pending, every access denied from now on; `cancel`: back to normal (within the shred delay).
       * Both are signed by the patient and take the patient's next nonce.
       */
      action: 'request' | 'cancel';
      /** The patient's current DID owner, who signs. */
      signer: LocalAccount;
    }
  | {
      /**
       * `finalize`: shredded for good (emits `Shredded`), once the delay has passed. Permissionless: the relayer
       * sends it on its own, with no signature and no nonce of the patient.
       */
      action: 'finalize';
      /** Ignored: finalising needs no signature. */
      signer?: LocalAccount | undefined;
    }
);

export type ShredRecordReturnType = { hash: Hash; blockNumber: bigint };

/**
 * Two-phase erasure on chain (DESIGN.md "Data flow" 7): the patient signs an EIP-712 `Shred`
 * request (or cancellation) and the relayer sends `RecordRegistry.shredSigned`; after the delay
 * anyone sends `RecordRegistry.finalizeShred`.
 *
 * @throws {ContractRevertError} `RecordRegistryShredAlreadyRequested`, `RecordRegistryShredNotPending`,
 *   `RecordRegistryShredTooEarly(recordId, executableAt)`, `RecordRegistryInvalidSignature`.
 * @example
 * await shredRecord({ client: relayer, recordRegistry, patient, signer: patientKey, recordId, action: 'request' });
 * // ... once the delay has passed, from any account:
 * await shredRecord({ client: relayer, recordRegistry, patient, recordId, action: 'finalize' });
 */
export async function shredRecord(parameters: ShredRecordParameters): Promise<ShredRecordReturnType> {
  const { client, recordRegistry, patient, recordId } = parameters;
  if (parameters.action === 'finalize') {
    const { hash, receipt } = await writeContractAndWait({
      client,
      abi: recordRegistryAbi,
      address: recordRegistry,
      contractName: 'RecordRegistry',
      functionName: 'finalizeShred',
      args: [patient, recordId],
    });
    return { hash, blockNumber: receipt.blockNumber };
  }
  const action = parameters.action === 'request' ? ShredAction.Request : ShredAction.Cancel;
  const { chainId, nonce, deadline } = await getSignatureContext({
    client,
    contract: 'RecordRegistry',
    address: recordRegistry,
    identity: patient,
  });
  const signature = await parameters.signer.signTypedData(
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
