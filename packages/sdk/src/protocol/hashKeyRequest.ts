import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { type Address, bytesToHex, type Hex, hexToBytes, isAddress } from 'viem';
import type { KeyRequest } from './signedRequest.ts';

const encoder = new TextEncoder();
const UINT64_MAX = 2n ** 64n - 1n;

const keccakText = (text: string): Uint8Array => keccak_256(encoder.encode(text));

/** `keccak256` of the EIP-712 type strings, computed once. */
const DOMAIN_TYPE_HASH = keccakText(
  'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)',
);
const KEY_REQUEST_TYPE_HASH = keccakText(
  'KeyRequest(address grantee,bytes32 grantId,bytes32[] recordIds,string audience,bytes32 nonce,uint64 issuedAt,uint64 expiresAt)',
);

/** A 32-byte big-endian word of an unsigned integer. */
function word(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A 32-byte word of an address (left-padded). */
function addressWord(address: Address): Uint8Array {
  const out = new Uint8Array(32);
  out.set(hexToBytes(address), 12);
  return out;
}

/** Domain separators by name, version, chain id and contract (a node has one; a client a few). */
const separators = new Map<string, Uint8Array>();
const SEPARATORS_KEPT = 16;

function domainSeparator(domain: KeyRequestDomain): Uint8Array {
  const { name, version, chainId, verifyingContract } = domain;
  const key = `${name.length}:${name}${version.length}:${version}${chainId}:${verifyingContract.toLowerCase()}`;
  let separator = separators.get(key);
  if (separator === undefined) {
    separator = keccak_256(
      concatBytes(
        DOMAIN_TYPE_HASH,
        keccakText(name),
        keccakText(version),
        word(chainId),
        addressWord(verifyingContract),
      ),
    );
    if (separators.size >= SEPARATORS_KEPT) separators.delete(separators.keys().next().value as string);
    separators.set(key, separator);
  }
  return separator;
}

/** The EIP-712 domain of a `KeyRequest`, as `nodeDomain` gives it. */
export type KeyRequestDomain = {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
};

/**
 * The EIP-712 digest of a `KeyRequest` in the Carekey node domain — the bytes viem's `hashTypedData` gives for
 * `toKeyRequestTypedData(domain, request)` (a property test holds them equal), with the type hashes computed once
 * and the domain separator once per domain, and without viem's per-call validation and ABI encoding: one
 * signature check per key release. Refuses what `hashTypedData` refuses for this type (an address that is not
 * one — mixed case with a wrong checksum —, a `bytes32` of another length, a `uint64` out of range).
 *
 * @throws {Error} a field `hashTypedData` would refuse.
 */
export function hashKeyRequest(domain: KeyRequestDomain, request: KeyRequest): Hex {
  if (domain.chainId < 0n || domain.chainId >= 2n ** 256n) throw new Error('chainId out of range');
  for (const address of [domain.verifyingContract, request.grantee])
    if (!isAddress(address)) throw new Error(`not an address: ${address}`);
  const b32 = (hex: Hex): Uint8Array => {
    const bytes = hexToBytes(hex);
    if (bytes.length !== 32) throw new Error(`not 32 bytes: ${hex}`);
    return bytes;
  };
  for (const n of [request.issuedAt, request.expiresAt])
    if (n < 0n || n > UINT64_MAX) throw new Error('uint64 out of range');
  const ids = keccak_256.create();
  for (const id of request.recordIds) ids.update(b32(id));
  const struct = keccak_256(
    concatBytes(
      KEY_REQUEST_TYPE_HASH,
      addressWord(request.grantee),
      b32(request.grantId),
      ids.digest(),
      keccakText(request.audience),
      b32(request.nonce),
      word(request.issuedAt),
      word(request.expiresAt),
    ),
  );
  return bytesToHex(keccak_256(concatBytes(new Uint8Array([0x19, 0x01]), domainSeparator(domain), struct)));
}
