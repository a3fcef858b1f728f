import {
  type Address,
  bytesToHex,
  encodePacked,
  type Hash,
  keccak256,
  type LocalAccount,
  stringToHex,
} from 'viem';
import { readContract } from 'viem/actions';
import { ChainConfigError } from '../../errors/chain.ts';
import { ethereumDidRegistryAbi } from '../abi/index.ts';
import type { ChainClient } from './ChainClient.ts';
import { getIdentityOwner } from './getIdentityOwner.ts';
import { signDidRegistryHash } from './signDidRegistryHash.ts';
import { toContractRevertError } from './toContractRevertError.ts';
import { writeContractAndWait } from './writeContractAndWait.ts';

/** The DID attribute naming an X25519 key-agreement key (ethr-did-resolver convention, value = raw key bytes). */
export const X25519_ATTRIBUTE = 'did/pub/X25519/enc/base64';
/** {@link X25519_ATTRIBUTE} as the registry's `bytes32` name. */
export const X25519_ATTRIBUTE_NAME = stringToHex(X25519_ATTRIBUTE, { size: 32 });
/** Default attribute validity: 10 years. */
export const DEFAULT_ATTRIBUTE_VALIDITY = 10n * 365n * 24n * 3600n;

export type SetEncryptionKeyParameters = {
  /** The relayer's client: it sends and pays for the transaction. */
  client: ChainClient;
  /** The ERC-1056 registry. */
  didRegistry: Address;
  /** The identity publishing its key. */
  identity: Address;
  /** The identity's current owner, who signs. */
  signer: LocalAccount;
  /** The 32-byte X25519 public key. */
  publicKey: Uint8Array;
  /** Seconds the attribute stays valid (default ten years). */
  validity?: bigint | undefined;
};

export type SetEncryptionKeyReturnType = { hash: Hash; blockNumber: bigint };

/**
 * Publishes an identity's X25519 key as the DID attribute `did/pub/X25519/enc/base64`
 * with `setAttributeSigned` (relayed: the owner signs, the node pays). Senders wrap
 * file keys to it (age X25519 stanzas).
 *
 * @throws {ChainConfigError} the key is not 32 bytes.
 * @throws {ContractRevertError} `Error(bad_signature)` when `signer` is not the identity's owner.
 * @example
 * await setEncryptionKey({ client, didRegistry, identity, signer, publicKey: x25519.publicKey });
 */
export async function setEncryptionKey(
  parameters: SetEncryptionKeyParameters,
): Promise<SetEncryptionKeyReturnType> {
  const { client, didRegistry, identity, signer, publicKey } = parameters;
  if (publicKey.length !== 32) {
    throw new ChainConfigError(`an X25519 public key is 32 bytes, got ${publicKey.length}`, {
      hint: 'pass the raw public key, not a bech32 age recipient or a private key',
    });
  }
  const validity = parameters.validity ?? DEFAULT_ATTRIBUTE_VALIDITY;
  const value = bytesToHex(publicKey);
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
  // EthereumDIDRegistry.setAttributeSigned: keccak256(0x19, 0x00, this, nonce[owner], identity, "setAttribute", name, value, validity)
  const hash = keccak256(
    encodePacked(
      ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'bytes32', 'bytes', 'uint256'],
      ['0x19', '0x00', didRegistry, nonce, identity, 'setAttribute', X25519_ATTRIBUTE_NAME, value, validity],
    ),
  );
  const { sigV, sigR, sigS } = await signDidRegistryHash(signer, hash);
  const { hash: txHash, receipt } = await writeContractAndWait({
    client,
    abi: ethereumDidRegistryAbi,
    address: didRegistry,
    contractName: 'EthereumDIDRegistry',
    functionName: 'setAttributeSigned',
    args: [identity, sigV, sigR, sigS, X25519_ATTRIBUTE_NAME, value, validity],
  });
  return { hash: txHash, blockNumber: receipt.blockNumber };
}
