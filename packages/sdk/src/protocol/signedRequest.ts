/**
 * Signed requests to a Carekey node (EIP-712, https://eips.ethereum.org/EIPS/eip-712).
 *
 * Two messages, one domain `{ name: 'Carekey Node', version: '1', chainId, verifyingContract: ConsentRegistry }`:
 * - `KeyRequest` — a grantee asks the vault for its stanzas of some records under one grant.
 * - `NodeRequest` — any other authenticated call (list my records, read my audit log, upload stanzas), binding
 *   method, path and a SHA-256 of the body.
 *
 * Both carry the node `audience` (so a request for one node is refused by another), a random 32-byte `nonce`
 * (remembered by the node until expiry: a replay is refused), `issuedAt` and `expiresAt` (at most
 * `MAX_REQUEST_LIFETIME` seconds apart). The signature is by the current ERC-1056 owner of the identity named in the
 * message; the node checks `identityOwner` itself, this module only recovers the signer.
 */
import {
  type Address,
  bytesToHex,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddress,
  isHex,
  type TypedDataDefinition,
} from 'viem';
import { publicKeyToAddress } from 'viem/accounts';
import { SignedRequestError } from '../errors/protocol.ts';
import { hashKeyRequest } from './hashKeyRequest.ts';
import { getRecoverPublicKey } from './recoverPublicKey.ts';

export const NODE_DOMAIN_NAME = 'Carekey Node';
export const NODE_DOMAIN_VERSION = '1';
/** Longest accepted `expiresAt - issuedAt`, seconds (THREAT-MODEL T-1: ≤ 5 min). */
export const MAX_REQUEST_LIFETIME = 300;
/** Accepted clock skew between a client and the node, seconds. */
export const MAX_CLOCK_SKEW = 60;
/** Most records one key request may name. */
export const MAX_KEY_REQUEST_RECORDS = 1000;

export const keyRequestTypes = {
  KeyRequest: [
    { name: 'grantee', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'recordIds', type: 'bytes32[]' },
    { name: 'audience', type: 'string' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

export const nodeRequestTypes = {
  NodeRequest: [
    { name: 'signer', type: 'address' },
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodyHash', type: 'bytes32' },
    { name: 'audience', type: 'string' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

/** A grantee's request for its stanzas of `recordIds` under `grantId`. */
export type KeyRequest = {
  grantee: Address;
  grantId: Hex;
  recordIds: readonly Hex[];
  audience: string;
  nonce: Hex;
  issuedAt: bigint;
  expiresAt: bigint;
};

/** An authenticated call: `signer` is the identity acting. */
export type NodeRequest = {
  signer: Address;
  method: string;
  path: string;
  bodyHash: Hex;
  audience: string;
  nonce: Hex;
  issuedAt: bigint;
  expiresAt: bigint;
};

/** Where signed requests are verified: the node's chain and deployment. */
export type NodeDomain = { chainId: number | bigint; verifyingContract: Address };

export function nodeDomain({ chainId, verifyingContract }: NodeDomain) {
  return {
    name: NODE_DOMAIN_NAME,
    version: NODE_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract,
  } as const;
}

export function toKeyRequestTypedData(domain: NodeDomain, message: KeyRequest) {
  return { domain: nodeDomain(domain), types: keyRequestTypes, primaryType: 'KeyRequest', message } as const;
}

export function toNodeRequestTypedData(domain: NodeDomain, message: NodeRequest) {
  return {
    domain: nodeDomain(domain),
    types: nodeRequestTypes,
    primaryType: 'NodeRequest',
    message,
  } as const;
}

/** The JSON form of a signed request on the wire (bigints as decimal strings). */
export type SignedEnvelope<kind extends 'KeyRequest' | 'NodeRequest'> = {
  kind: kind;
  message: Record<string, unknown>;
  signature: Hex;
};

export type CheckSignedRequestParameters = {
  domain: NodeDomain;
  /** This node's audience string. */
  audience: string;
  /** Node clock, seconds (injectable for tests). Default: now. */
  now?: number;
};

const bytes32 = /^0x[0-9a-fA-F]{64}$/u;

function fail(reason: ConstructorParameters<typeof SignedRequestError>[0], message: string): never {
  throw new SignedRequestError(reason, message);
}

function asBigint(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^[0-9]{1,20}$/u.test(value))
    fail('malformed', `${field} must be a decimal string`);
  return BigInt(value);
}

function asBytes32(value: unknown, field: string): Hex {
  if (typeof value !== 'string' || !bytes32.test(value))
    fail('malformed', `${field} must be 32 bytes of hex`);
  return value.toLowerCase() as Hex;
}

function asAddress(value: unknown, field: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false }))
    fail('malformed', `${field} is not an address`);
  return value as Address;
}

function asString(value: unknown, field: string, max = 2048): string {
  if (typeof value !== 'string' || value.length > max) fail('malformed', `${field} must be a string`);
  return value;
}

function checkTimes(
  message: { issuedAt: bigint; expiresAt: bigint; audience: string },
  p: CheckSignedRequestParameters,
) {
  const now = BigInt(Math.floor(p.now ?? Date.now() / 1000));
  if (message.audience !== p.audience) fail('wrong-audience', 'request is for another node');
  if (message.expiresAt <= message.issuedAt) fail('malformed', 'expiresAt must be after issuedAt');
  if (message.expiresAt - message.issuedAt > BigInt(MAX_REQUEST_LIFETIME)) {
    fail('lifetime-too-long', `request lifetime above ${MAX_REQUEST_LIFETIME} s`);
  }
  if (message.issuedAt > now + BigInt(MAX_CLOCK_SKEW)) fail('not-yet-valid', 'request issued in the future');
  if (message.expiresAt <= now) fail('expired', 'request expired');
}

function envelopeParts(
  envelope: unknown,
  kind: string,
): { message: Record<string, unknown>; signature: Hex } {
  const e = envelope as Partial<SignedEnvelope<'KeyRequest'>> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    e.kind !== kind ||
    typeof e.message !== 'object' ||
    e.message === null
  ) {
    fail('malformed', `not a signed ${kind}`);
  }
  if (typeof e.signature !== 'string' || !isHex(e.signature) || e.signature.length !== 132) {
    fail('malformed', 'signature must be 65 bytes of hex');
  }
  return { message: e.message as Record<string, unknown>, signature: e.signature };
}

/**
 * Parses a signed key request received from outside, checks its form, audience and freshness, and recovers the
 * address that signed it. The caller still checks that the signer is `identityOwner(grantee)`, that the nonce was
 * never seen, and the grant.
 *
 * @throws SignedRequestError with a reason code.
 */
export async function checkKeyRequest(
  envelope: unknown,
  parameters: CheckSignedRequestParameters,
): Promise<{ request: KeyRequest; signer: Address; signature: Hex; digest: Hex }> {
  const { message: m, signature } = envelopeParts(envelope, 'KeyRequest');
  if (
    !Array.isArray(m.recordIds) ||
    m.recordIds.length === 0 ||
    m.recordIds.length > MAX_KEY_REQUEST_RECORDS
  ) {
    fail('malformed', `recordIds must list 1 to ${MAX_KEY_REQUEST_RECORDS} record ids`);
  }
  const request: KeyRequest = {
    grantee: asAddress(m.grantee, 'grantee'),
    grantId: asBytes32(m.grantId, 'grantId'),
    recordIds: m.recordIds.map((id, i) => asBytes32(id, `recordIds[${i}]`)),
    audience: asString(m.audience, 'audience'),
    nonce: asBytes32(m.nonce, 'nonce'),
    issuedAt: asBigint(m.issuedAt, 'issuedAt'),
    expiresAt: asBigint(m.expiresAt, 'expiresAt'),
  };
  checkTimes(request, parameters);
  let digest: Hex;
  try {
    digest = hashKeyRequest(nodeDomain(parameters.domain), request);
  } catch {
    fail('bad-signature', 'signature does not verify');
  }
  const signer = recoverDigest(digest, signature);
  return { request, signer, signature, digest };
}

/**
 * Parses a signed node request (from the `Carekey-Auth` header), checks its form, audience, freshness, and that it
 * names this exact call (method, path, body hash), and recovers the signer.
 *
 * @throws SignedRequestError with a reason code.
 */
export async function checkNodeRequest(
  envelope: unknown,
  call: { method: string; path: string; bodyHash: Hex },
  parameters: CheckSignedRequestParameters,
): Promise<{ request: NodeRequest; signer: Address; signature: Hex }> {
  const { message: m, signature } = envelopeParts(envelope, 'NodeRequest');
  const request: NodeRequest = {
    signer: asAddress(m.signer, 'signer'),
    method: asString(m.method, 'method', 16),
    path: asString(m.path, 'path'),
    bodyHash: asBytes32(m.bodyHash, 'bodyHash'),
    audience: asString(m.audience, 'audience'),
    nonce: asBytes32(m.nonce, 'nonce'),
    issuedAt: asBigint(m.issuedAt, 'issuedAt'),
    expiresAt: asBigint(m.expiresAt, 'expiresAt'),
  };
  checkTimes(request, parameters);
  if (request.method !== call.method.toUpperCase() || request.path !== call.path) {
    fail('request-mismatch', 'signed for another call');
  }
  if (request.bodyHash !== call.bodyHash.toLowerCase())
    fail('body-mismatch', 'body does not match its signed hash');
  const { signer } = recoverTypedData(toNodeRequestTypedData(parameters.domain, request), signature);
  return { request, signer, signature };
}

/**
 * The EIP-712 digest of `typedData` and the address whose key made `signature` (65 bytes `r‖s‖v`, `v` 27/28 or
 * 0/1) over it — what viem's `recoverTypedDataAddress` returns, in one synchronous pass (viem imports noble's curve
 * anew on every call; a node recovers one signature per request), with the installed recovery (noble, or the node's
 * native libsecp256k1: `setRecoverPublicKey`).
 */
function recoverTypedData(
  // biome-ignore lint/suspicious/noExplicitAny: any EIP-712 message of this module.
  typedData: TypedDataDefinition<any, any>,
  signature: Hex,
): { signer: Address; digest: Hex } {
  let digest: Hex;
  try {
    digest = hashTypedData(typedData);
  } catch {
    fail('bad-signature', 'signature does not verify');
  }
  return { signer: recoverDigest(digest, signature), digest };
}

/** The address whose key made `signature` (65 bytes `r‖s‖v`, `v` 27/28 or 0/1) over `digest`. */
function recoverDigest(digest: Hex, signature: Hex): Address {
  try {
    const bytes = hexToBytes(signature);
    const v = bytes[64];
    if (bytes.length !== 65 || v === undefined) throw new Error('not 65 bytes');
    const bit = v === 0 || v === 27 ? 0 : v === 1 || v === 28 ? 1 : undefined;
    if (bit === undefined) throw new Error(`bad v ${v}`);
    const key = getRecoverPublicKey().recover(bytes.subarray(0, 64), bit, hexToBytes(digest));
    return publicKeyToAddress(bytesToHex(key));
  } catch {
    fail('bad-signature', 'signature does not verify');
  }
}

/** Serialises a key request and its signature for the wire. */
export function keyRequestEnvelope(request: KeyRequest, signature: Hex): SignedEnvelope<'KeyRequest'> {
  return {
    kind: 'KeyRequest',
    message: {
      ...request,
      recordIds: [...request.recordIds],
      issuedAt: String(request.issuedAt),
      expiresAt: String(request.expiresAt),
    },
    signature,
  };
}

/** Serialises a node request and its signature for the wire (`Carekey-Auth` header value is base64url JSON). */
export function nodeRequestEnvelope(request: NodeRequest, signature: Hex): SignedEnvelope<'NodeRequest'> {
  return {
    kind: 'NodeRequest',
    message: { ...request, issuedAt: String(request.issuedAt), expiresAt: String(request.expiresAt) },
    signature,
  };
}
