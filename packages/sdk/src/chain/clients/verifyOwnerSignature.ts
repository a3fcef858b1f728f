import { type Address, type Client, type Hex, isAddressEqual } from 'viem';
import { getCode, verifyHash } from 'viem/actions';

export type VerifyOwnerSignatureParameters = {
  /** Any client that can read the chain. */
  client: Client;
  /** `identityOwner(identity)`, read by the caller at `blockNumber`. */
  owner: Address;
  /** The key `signature` recovers to (undefined when it does not recover). */
  signer: Address | undefined;
  /** The digest that was signed (an EIP-712 hash, or an ERC-1056 raw hash). */
  hash: Hex;
  signature: Hex;
  /** Block of the decision (default: latest). */
  blockNumber?: bigint | undefined;
};

/**
 * Whether `signature` over `hash` speaks for an identity whose ERC-1056 owner is `owner`: the recovered key *is*
 * the owner (the usual case, decided without a chain read), or the owner is a contract — a `RecoveryAccount`
 * (docs/recovery.md) or any ERC-1271 wallet — that accepts the signature (`isValidSignature`, through viem's
 * `verifyHash`, which also handles ERC-6492). This is the check every Carekey contract makes
 * (OpenZeppelin `SignatureChecker`), so the node refuses exactly what the chain would refuse.
 *
 * @throws viem errors when the chain cannot be read (callers fail closed).
 * @example
 * const ok = await verifyOwnerSignature({ client, owner, signer, hash: hashTypedData(typedData), signature });
 */
export async function verifyOwnerSignature(parameters: VerifyOwnerSignatureParameters): Promise<boolean> {
  const { client, owner, signer, hash, signature, blockNumber } = parameters;
  if (signer !== undefined && isAddressEqual(signer, owner)) return true;
  const at = blockNumber === undefined ? {} : { blockNumber };
  const code = await getCode(client, { address: owner, ...at });
  if (code === undefined || code === '0x') return false;
  return verifyHash(client, { address: owner, hash, signature, ...at });
}
