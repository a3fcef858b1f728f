import { sha256 } from '@noble/hashes/sha2.js';
import { type Address, bytesToHex, type Hex, type LocalAccount } from 'viem';
import {
  type KeyRequest,
  keyRequestEnvelope,
  MAX_REQUEST_LIFETIME,
  type NodeDomain,
  type NodeRequest,
  nodeRequestEnvelope,
  type SignedEnvelope,
  toKeyRequestTypedData,
  toNodeRequestTypedData,
} from './signedRequest.ts';

/** The `bodyHash` of an empty body. */
export const EMPTY_BODY_HASH: Hex = `0x${'00'.repeat(32)}`;

/** SHA-256 of a request body as the `bodyHash` field (zero for an empty body). */
export function bodyHash(body: Uint8Array | string | undefined): Hex {
  if (body === undefined || body.length === 0) return EMPTY_BODY_HASH;
  return bytesToHex(sha256(typeof body === 'string' ? new TextEncoder().encode(body) : body));
}

function freshNonce(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

type Timing = { lifetime?: number; now?: number };

function times({ lifetime = 120, now = Date.now() / 1000 }: Timing) {
  if (lifetime <= 0 || lifetime > MAX_REQUEST_LIFETIME)
    throw new RangeError(`lifetime must be 1–${MAX_REQUEST_LIFETIME} s`);
  const issuedAt = BigInt(Math.floor(now));
  return { issuedAt, expiresAt: issuedAt + BigInt(lifetime) };
}

export type SignKeyRequestParameters = Timing & {
  /** The key that owns the grantee identity. */
  account: LocalAccount;
  domain: NodeDomain;
  /** The grantee identity (defaults to the account's address). */
  grantee?: Address;
  grantId: Hex;
  recordIds: readonly Hex[];
  /** The node's audience string (from its `/v1/node` description). */
  audience: string;
};

/** Signs a key request with a fresh nonce; returns what to POST to the vault. */
export async function signKeyRequest(
  parameters: SignKeyRequestParameters,
): Promise<SignedEnvelope<'KeyRequest'>> {
  const request: KeyRequest = {
    grantee: parameters.grantee ?? parameters.account.address,
    grantId: parameters.grantId,
    recordIds: parameters.recordIds,
    audience: parameters.audience,
    nonce: freshNonce(),
    ...times(parameters),
  };
  const signature = await parameters.account.signTypedData(toKeyRequestTypedData(parameters.domain, request));
  return keyRequestEnvelope(request, signature);
}

export type SignNodeRequestParameters = Timing & {
  account: LocalAccount;
  domain: NodeDomain;
  /** The identity acting (defaults to the account's address). */
  signer?: Address;
  method: string;
  /** Path and query exactly as sent, e.g. `/v1/audit?limit=50`. */
  path: string;
  body?: Uint8Array | string;
  audience: string;
};

/** Header carrying a signed `NodeRequest` (base64url of its JSON envelope). */
export const AUTH_HEADER = 'carekey-auth';

/** Signs an authenticated call; returns the `Carekey-Auth` header value. */
export async function signNodeRequest(parameters: SignNodeRequestParameters): Promise<string> {
  const request: NodeRequest = {
    signer: parameters.signer ?? parameters.account.address,
    method: parameters.method.toUpperCase(),
    path: parameters.path,
    bodyHash: bodyHash(parameters.body),
    audience: parameters.audience,
    nonce: freshNonce(),
    ...times(parameters),
  };
  const signature = await parameters.account.signTypedData(
    toNodeRequestTypedData(parameters.domain, request),
  );
  return encodeAuthHeader(nodeRequestEnvelope(request, signature));
}

/** base64url(JSON) of an envelope. */
export function encodeAuthHeader(envelope: SignedEnvelope<'NodeRequest'>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(envelope));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/u, '');
}

/** Decodes a `Carekey-Auth` header; returns `undefined` if it is not base64url JSON. */
export function decodeAuthHeader(value: string): unknown {
  if (value.length > 8192 || !/^[A-Za-z0-9_-]+$/u.test(value)) return undefined;
  try {
    const binary = atob(value.replaceAll('-', '+').replaceAll('_', '/'));
    return JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))),
    );
  } catch {
    return undefined;
  }
}
