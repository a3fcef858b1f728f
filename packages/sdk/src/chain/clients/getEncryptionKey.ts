import { type Address, type Client, hexToBytes } from 'viem';
import { getBlock, getContractEvents } from 'viem/actions';
import { ethereumDidRegistryAbi } from '../abi/index.ts';
import { X25519_ATTRIBUTE_NAME } from './setEncryptionKey.ts';
import { toContractRevertError } from './toContractRevertError.ts';

export type GetEncryptionKeyParameters = {
  client: Client;
  /** The ERC-1056 registry. */
  didRegistry: Address;
  /** The identity whose key is looked up. */
  identity: Address;
  /** First block to scan (the registry's deploy block; default 0). */
  fromBlock?: bigint | undefined;
};

/** The identity's current X25519 public key (32 bytes), or `undefined` if none is valid now. */
export type GetEncryptionKeyReturnType = Uint8Array | undefined;

/**
 * Reads an identity's X25519 key from its latest `DIDAttributeChanged` event named
 * `did/pub/X25519/enc/base64` whose validity has not lapsed (chain time); a
 * revocation (`validTo` 0) or an expiry yields `undefined`.
 *
 * @example
 * const key = await getEncryptionKey({ client, didRegistry, identity: grantee });
 */
export async function getEncryptionKey(
  parameters: GetEncryptionKeyParameters,
): Promise<GetEncryptionKeyReturnType> {
  const { client, didRegistry, identity } = parameters;
  try {
    const events = await getContractEvents(client, {
      abi: ethereumDidRegistryAbi,
      address: didRegistry,
      eventName: 'DIDAttributeChanged',
      args: { identity },
      fromBlock: parameters.fromBlock ?? 0n,
      toBlock: 'latest',
    });
    const latest = events.filter((e) => e.args.name === X25519_ATTRIBUTE_NAME).at(-1);
    if (!latest?.args.value || latest.args.validTo === undefined) return undefined;
    const { timestamp } = await getBlock(client, { blockTag: 'latest' });
    if (latest.args.validTo <= timestamp) return undefined;
    const key = hexToBytes(latest.args.value);
    return key.length === 32 ? key : undefined;
  } catch (error) {
    throw toContractRevertError({ call: 'EthereumDIDRegistry.DIDAttributeChanged', error });
  }
}
