import { type Address, encodePacked, type Hash, keccak256, type LocalAccount } from 'viem';
import { readContract } from 'viem/actions';
import { ethereumDidRegistryAbi } from '../abi/index.ts';
import type { ChainClient } from './ChainClient.ts';
import { getIdentityOwner } from './getIdentityOwner.ts';
import { signDidRegistryHash } from './signDidRegistryHash.ts';
import { toContractRevertError } from './toContractRevertError.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

export type ChangeIdentityOwnerParameters = {
  /** The relayer's client: it sends and pays for the transaction. */
  client: ChainClient;
  /** The ERC-1056 registry. */
  didRegistry: Address;
  /** The identity whose owner changes. */
  identity: Address;
  /** The identity's current owner, who signs the change. */
  signer: LocalAccount;
  /** The new owning key. */
  newOwner: Address;
};

export type ChangeIdentityOwnerReturnType = { hash: Hash; blockNumber: bigint };

/**
 * Rotates a DID's owning key with `changeOwnerSigned` (relayed: the owner signs, the node pays).
 *
 * Every Carekey contract authorises through `identityOwner`, so from the next
 * block the old key can do nothing and the new key everything, with nothing migrated.
 *
 * @throws {ContractRevertError} `Error(bad_signature)` when `signer` is not the current owner.
 * @example
 * await changeIdentityOwner({ client, didRegistry, identity: patient, signer: oldKey, newOwner: newKey.address });
 */
export async function changeIdentityOwner(
  parameters: ChangeIdentityOwnerParameters,
): Promise<ChangeIdentityOwnerReturnType> {
  const { client, didRegistry, identity, signer, newOwner } = parameters;
  const owner = await getIdentityOwner({ client, didRegistry, identity });
  let nonce: bigint;
  try {
    nonce = await readContract(client, {
      abi: ethereumDidRegistryAbi,
      address: didRegistry,
      functionName: 'nonce',
      args: [owner],
    });
  } catch (error) {
    throw toContractRevertError({ call: 'EthereumDIDRegistry.nonce', error });
  }
  // EthereumDIDRegistry.changeOwnerSigned: keccak256(0x19, 0x00, this, nonce[owner], identity, "changeOwner", newOwner)
  const hash = keccak256(
    encodePacked(
      ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'address'],
      ['0x19', '0x00', didRegistry, nonce, identity, 'changeOwner', newOwner],
    ),
  );
  const { sigV, sigR, sigS } = await signDidRegistryHash(signer, hash);
  const { hash: txHash, receipt } = await writeContractAndWait({
    client,
    abi: ethereumDidRegistryAbi,
    address: didRegistry,
    contractName: 'EthereumDIDRegistry',
    functionName: 'changeOwnerSigned',
    args: [identity, sigV, sigR, sigS, newOwner],
  });
  return { hash: txHash, blockNumber: receipt.blockNumber };
}
