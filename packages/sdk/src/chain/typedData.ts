/**
 * EIP-712 messages the Carekey contracts verify, so clients sign exactly what the chain checks.
 *
 * Every relayed action carries the signer identity's next `nonce` (read `nonces(identity)` on the
 * contract) and a `deadline` (chain time, seconds). The signer is the identity's current ERC-1056
 * owner (`identityOwner`), so a rotated key's signatures stop working at once.
 *
 * Domains: `{ name: 'Carekey ConsentRegistry' | 'Carekey RecordRegistry', version: '1', chainId,
 * verifyingContract }` (https://eips.ethereum.org/EIPS/eip-712).
 *
 * @example
 * const typedData = toGrantTypedData({ chainId, verifyingContract, message })
 * const signature = await account.signTypedData(typedData)
 */
import { type Address, type Hex, hashTypedData, stringToHex } from 'viem';
import { ChainError } from '../errors/chain.ts';

export const CONSENT_REGISTRY_DOMAIN_NAME = 'Carekey ConsentRegistry';
export const RECORD_REGISTRY_DOMAIN_NAME = 'Carekey RecordRegistry';
export const CAREKEY_DOMAIN_VERSION = '1';

/** What a grant covers; `scopeData` holds nothing, category tags, or one record-id root. */
export const ScopeKind = { All: 0, Categories: 1, Records: 2 } as const;
export type ScopeKind = (typeof ScopeKind)[keyof typeof ScopeKind];

/**
 * What a signed `Shred` message asks `RecordRegistry.shredSigned` to do. There is no signed finalisation: once the
 * delay has passed anyone calls `finalizeShred(patient, recordId)`, with no signature and no nonce.
 */
export const ShredAction = { Request: 1, Cancel: 2 } as const;
export type ShredAction = (typeof ShredAction)[keyof typeof ShredAction];

/** `ConsentRegistry.GRANT_TYPEHASH`. */
export const grantTypes = {
  Grant: [
    { name: 'patient', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'scopeKind', type: 'uint8' },
    { name: 'scopeData', type: 'bytes32[]' },
    { name: 'purpose', type: 'bytes32' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'requestId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `ConsentRegistry.REVOKE_TYPEHASH`. */
export const revokeTypes = {
  Revoke: [
    { name: 'patient', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `ConsentRegistry.DENY_TYPEHASH` (a patient denies an access request). */
export const denyTypes = {
  Deny: [
    { name: 'patient', type: 'address' },
    { name: 'requestId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `ConsentRegistry.ACCESS_REQUEST_TYPEHASH` (signed by the requester's owner). */
export const accessRequestTypes = {
  AccessRequest: [
    { name: 'requester', type: 'address' },
    { name: 'patient', type: 'address' },
    { name: 'scopeKind', type: 'uint8' },
    { name: 'scopeData', type: 'bytes32[]' },
    { name: 'purpose', type: 'bytes32' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `RecordRegistry.PUBLISH_TYPEHASH`. */
export const publishTypes = {
  Publish: [
    { name: 'publisher', type: 'address' },
    { name: 'root', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `RecordRegistry.SHRED_TYPEHASH`. */
export const shredTypes = {
  Shred: [
    { name: 'patient', type: 'address' },
    { name: 'recordId', type: 'bytes32' },
    { name: 'action', type: 'uint8' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export type GrantMessage = {
  patient: Address;
  grantee: Address;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  /** HL7 PurposeOfUse code as bytes32, see `purposeOfUse`. */
  purpose: Hex;
  /** Chain time (seconds) at which the grant lapses. */
  expiresAt: bigint;
  /** The access request answered, or `ZERO_BYTES32`. */
  requestId: Hex;
  nonce: bigint;
  deadline: bigint;
};
export type RevokeMessage = { patient: Address; grantId: Hex; nonce: bigint; deadline: bigint };
export type DenyMessage = { patient: Address; requestId: Hex; nonce: bigint; deadline: bigint };
export type AccessRequestMessage = {
  requester: Address;
  patient: Address;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  purpose: Hex;
  expiresAt: bigint;
  nonce: bigint;
  deadline: bigint;
};
export type PublishMessage = {
  publisher: Address;
  root: Hex;
  count: number;
  nonce: bigint;
  deadline: bigint;
};
export type ShredMessage = {
  patient: Address;
  recordId: Hex;
  action: ShredAction;
  nonce: bigint;
  deadline: bigint;
};

/** A purpose-of-use code that cannot be a `bytes32` HL7 PurposeOfUse code. */
export class InvalidPurposeOfUseError extends ChainError {
  override name = 'InvalidPurposeOfUseError';
}

export const ZERO_BYTES32: Hex = `0x${'00'.repeat(32)}`;

/** Where a message will be verified. */
export type TypedDataTarget = {
  /** The chain id the contract lives on. */
  chainId: number | bigint;
  /** The contract's address. */
  verifyingContract: Address;
};

export type ToTypedDataParameters<message> = TypedDataTarget & { message: message };

function domain(name: string, { chainId, verifyingContract }: TypedDataTarget) {
  return { name, version: CAREKEY_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract } as const;
}

/** The typed data of a relayed grant, ready for `signTypedData`. */
export function toGrantTypedData({ message, ...target }: ToTypedDataParameters<GrantMessage>) {
  return {
    domain: domain(CONSENT_REGISTRY_DOMAIN_NAME, target),
    types: grantTypes,
    primaryType: 'Grant',
    message,
  } as const;
}

/** The typed data of a relayed revocation. */
export function toRevokeTypedData({ message, ...target }: ToTypedDataParameters<RevokeMessage>) {
  return {
    domain: domain(CONSENT_REGISTRY_DOMAIN_NAME, target),
    types: revokeTypes,
    primaryType: 'Revoke',
    message,
  } as const;
}

/** The typed data of a relayed denial of an access request. */
export function toDenyTypedData({ message, ...target }: ToTypedDataParameters<DenyMessage>) {
  return {
    domain: domain(CONSENT_REGISTRY_DOMAIN_NAME, target),
    types: denyTypes,
    primaryType: 'Deny',
    message,
  } as const;
}

/** The typed data of a relayed access request (signed by the requester). */
export function toAccessRequestTypedData({
  message,
  ...target
}: ToTypedDataParameters<AccessRequestMessage>) {
  return {
    domain: domain(CONSENT_REGISTRY_DOMAIN_NAME, target),
    types: accessRequestTypes,
    primaryType: 'AccessRequest',
    message,
  } as const;
}

/** The typed data of a relayed batch publication (signed by the publisher). */
export function toPublishTypedData({ message, ...target }: ToTypedDataParameters<PublishMessage>) {
  return {
    domain: domain(RECORD_REGISTRY_DOMAIN_NAME, target),
    types: publishTypes,
    primaryType: 'Publish',
    message,
  } as const;
}

/** The typed data of a relayed shred request or cancellation. */
export function toShredTypedData({ message, ...target }: ToTypedDataParameters<ShredMessage>) {
  return {
    domain: domain(RECORD_REGISTRY_DOMAIN_NAME, target),
    types: shredTypes,
    primaryType: 'Shred',
    message,
  } as const;
}

/** The EIP-712 digest the contract checks the grant signature against. */
export function hashGrant(parameters: ToTypedDataParameters<GrantMessage>): Hex {
  return hashTypedData(toGrantTypedData(parameters));
}

/** The EIP-712 digest of a revocation. */
export function hashRevoke(parameters: ToTypedDataParameters<RevokeMessage>): Hex {
  return hashTypedData(toRevokeTypedData(parameters));
}

/** The EIP-712 digest of a denial. */
export function hashDeny(parameters: ToTypedDataParameters<DenyMessage>): Hex {
  return hashTypedData(toDenyTypedData(parameters));
}

/** The EIP-712 digest of an access request. */
export function hashAccessRequest(parameters: ToTypedDataParameters<AccessRequestMessage>): Hex {
  return hashTypedData(toAccessRequestTypedData(parameters));
}

/** The EIP-712 digest of a batch publication. */
export function hashPublish(parameters: ToTypedDataParameters<PublishMessage>): Hex {
  return hashTypedData(toPublishTypedData(parameters));
}

/** The EIP-712 digest of a shred action. */
export function hashShred(parameters: ToTypedDataParameters<ShredMessage>): Hex {
  return hashTypedData(toShredTypedData(parameters));
}

/**
 * An HL7 v3 PurposeOfUse code (e.g. `TREAT`, `ETREAT`, `HRESCH`) as the contracts' `bytes32`:
 * ASCII, left-aligned, zero-padded (Solidity `bytes32("TREAT")`).
 *
 * @throws InvalidPurposeOfUseError if the code is empty, longer than 32 bytes, or not `[A-Z0-9]`.
 */
export function purposeOfUse(code: string): Hex {
  if (!/^[A-Z0-9]{1,32}$/.test(code)) {
    throw new InvalidPurposeOfUseError(`invalid PurposeOfUse code '${code.slice(0, 40)}'`, {
      hint: "use 1-32 characters A-Z or 0-9, an HL7 v3 PurposeOfUse code such as 'TREAT'",
    });
  }
  return stringToHex(code, { size: 32 });
}
