import { type Address, type Hash, type Hex, type LocalAccount, parseEventLogs } from 'viem';
import { MissingEventError } from '../../errors/chain.ts';
import { recordRegistryAbi } from '../abi/index.ts';
import { buildRecordTree, type RecordLeaf } from '../merkle.ts';
import { toPublishTypedData } from '../typedData.ts';
import type { ChainClient } from './ChainClient.ts';
import { getSignatureContext } from './getSignatureContext.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type PublishBatchParameters = {
  /** Sends the transaction: the relayer (with `signer`) or the publisher's owner itself (without). */
  client: ChainClient;
  recordRegistry: Address;
  /** The publishing identity (a provider's or the patient's DID). */
  publisher: Address;
  /** The records committed: one leaf each. */
  records: readonly RecordLeaf[];
  /**
   * The publisher's current DID owner. Given: it signs EIP-712 `Publish` and the client relays
   * (`publishBatchSigned`). Omitted: the client's own account must be the owner (`publishBatch`).
   */
  signer?: LocalAccount | undefined;
};

export type PublishBatchReturnType = {
  /** Sequential batch id from the `BatchPublished` event. */
  batchId: bigint;
  root: Hex;
  /** Leaf hashes and inclusion proofs, in the order of `records` (the vault keeps them). */
  leafHashes: Hex[];
  proofs: Hex[][];
  hash: Hash;
  blockNumber: bigint;
};

/**
 * Commits a batch of records in one transaction: builds the record-leaf Merkle tree
 * (`merkle.ts`), sends its root, and returns the batch id from `BatchPublished`
 * with each record's proof (verifiable with `RecordRegistry.verifyRecord`).
 *
 * @throws {MerkleTreeError} no records, malformed or duplicate leaves.
 * @throws {ContractRevertError} `RecordRegistryNotIdentityOwner` (direct, not the owner),
 *   `RecordRegistryInvalidSignature` (relayed, not signed by the owner), `RecordRegistryInvalidNonce`.
 * @example
 * const { batchId, proofs } = await publishBatch({ client: relayer, recordRegistry, publisher: hospital,
 *   signer: hospitalKey, records });
 */
export async function publishBatch(parameters: PublishBatchParameters): Promise<PublishBatchReturnType> {
  const { client, recordRegistry, publisher, records, signer } = parameters;
  const tree = buildRecordTree(records);
  const count = records.length;
  let sent: Awaited<ReturnType<typeof writeContractAndWait>>;
  if (signer) {
    const { chainId, nonce, deadline } = await getSignatureContext({
      client,
      contract: 'RecordRegistry',
      address: recordRegistry,
      identity: publisher,
    });
    const signature = await signer.signTypedData(
      toPublishTypedData({
        chainId,
        verifyingContract: recordRegistry,
        message: { publisher, root: tree.root, count, nonce, deadline },
      }),
    );
    sent = await writeContractAndWait({
      client,
      abi: recordRegistryAbi,
      address: recordRegistry,
      contractName: 'RecordRegistry',
      functionName: 'publishBatchSigned',
      args: [publisher, tree.root, count, nonce, deadline, signature],
    });
  } else {
    sent = await writeContractAndWait({
      client,
      abi: recordRegistryAbi,
      address: recordRegistry,
      contractName: 'RecordRegistry',
      functionName: 'publishBatch',
      args: [publisher, tree.root, count],
    });
  }
  const [event] = parseEventLogs({
    abi: recordRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'BatchPublished',
  });
  if (!event) throw new MissingEventError('BatchPublished', sent.hash);
  return {
    batchId: event.args.batchId,
    root: tree.root,
    leafHashes: tree.leafHashes,
    proofs: tree.proofs,
    hash: sent.hash,
    blockNumber: sent.receipt.blockNumber,
  };
}
