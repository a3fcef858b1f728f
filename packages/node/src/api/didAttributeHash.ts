import { type Address, encodePacked, type Hex, keccak256 } from 'viem';

export type DidAttributeHashParameters = {
  /** The ERC-1056 registry. */
  didRegistry: Address;
  /** `nonce(identityOwner(identity))` read from the registry (`GET /v1/did/{address}/nonce`). */
  nonce: bigint;
  identity: Address;
  /** Attribute name as `bytes32` (e.g. `X25519_ATTRIBUTE_NAME`). */
  name: Hex;
  /** Attribute value bytes (the raw 32-byte X25519 key). */
  value: Hex;
  /** Seconds the attribute stays valid. */
  validity: bigint;
};

/**
 * The hash the identity's owner signs (raw secp256k1, no EIP-191 prefix) for `setAttributeSigned`:
 * `keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce ‖ identity ‖ "setAttribute" ‖ name ‖ value ‖ validity)` (ERC-1056).
 *
 * @example
 * const hash = didAttributeHash({ didRegistry, nonce, identity, name: X25519_ATTRIBUTE_NAME, value, validity });
 * const { sigV, sigR, sigS } = await signDidRegistryHash(owner, hash);
 */
export function didAttributeHash(parameters: DidAttributeHashParameters): Hex {
  const { didRegistry, nonce, identity, name, value, validity } = parameters;
  return keccak256(
    encodePacked(
      ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'bytes32', 'bytes', 'uint256'],
      ['0x19', '0x00', didRegistry, nonce, identity, 'setAttribute', name, value, validity],
    ),
  );
}
