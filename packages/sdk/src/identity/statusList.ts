import { base64urlnopad } from '@scure/base';
import { createHeaderAndPayload, getListFromStatusListJWT, StatusList } from '@sd-jwt/jwt-status-list';
import type { Address, Hex } from 'viem';
import { CredentialError } from './CredentialError.ts';
import { parseDid } from './did.ts';
import { es256kSigner, verifyEs256k } from './es256k.ts';
import { type DidKeyResolution, verifyDidJws } from './verifyDidJws.ts';

/** Media type of a Token Status List JWT (draft-ietf-oauth-status-list). */
export const STATUS_LIST_MEDIA_TYPE = 'application/statuslist+jwt';

/** Status values of the 1-bit lists Carekey issuers keep: 0 valid, 1 revoked. */
export const STATUS_VALID = 0;
export const STATUS_REVOKED = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type SignStatusListParameters = {
  /** The issuer's DID (`iss`) and its owner key, which signs. */
  issuerDid: string;
  privateKey: Hex;
  /** Where verifiers fetch the list (`sub`, the `uri` credentials name). */
  uri: string;
  /** One status per index (0 valid, 1 revoked). */
  statuses: readonly number[];
  /** Seconds since epoch (default now). */
  iat?: number | undefined;
  /** Seconds a verifier may cache it (`ttl`, default 300). */
  ttl?: number | undefined;
  /** The verification method that signs (`kid`, default `<issuerDid>#controller`; e.g. `#delegate-1`). */
  kid?: string | undefined;
};

/**
 * Signs an IETF Token Status List JWT (`typ: statuslist+jwt`, ES256K, 1 bit per credential, zlib-compressed) with
 * the issuer's key (`@sd-jwt/jwt-status-list`).
 */
export function signStatusList(parameters: SignStatusListParameters): string {
  const list = new StatusList([...parameters.statuses], 1);
  const { header, payload } = createHeaderAndPayload(
    list,
    {
      iss: parameters.issuerDid,
      sub: parameters.uri,
      iat: parameters.iat ?? Math.floor(Date.now() / 1000),
      ttl: parameters.ttl ?? 300,
    },
    { alg: 'ES256K', typ: 'statuslist+jwt', kid: parameters.kid ?? `${parameters.issuerDid}#controller` },
  );
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${es256kSigner(parameters.privateKey)(input)}`;
}

/** A status list JWT's verified contents. */
export type CheckedStatusList = { issuer: Address; uri: string; iat: number; statuses: StatusList };

/**
 * Checks a status list JWT is well formed and signed by `owner` (the issuer DID's current owner key), for `uri`.
 * For any issuer (a contract owner, a delegate key) use {@link verifyStatusList}.
 *
 * @throws {CredentialError} `status-unavailable`: malformed, another list, or not signed by the issuer.
 */
export function checkStatusList(parameters: {
  jwt: string;
  owner: Address;
  uri?: string | undefined;
}): CheckedStatusList {
  const parsed = parseStatusListJwt(parameters);
  if (!verifyEs256k(parsed.signingInput, parsed.signature, parameters.owner))
    throw statusFailure('not signed by the issuer');
  return parsed.checked;
}

/**
 * Checks a status list JWT is well formed, for `uri`, of `issuer` (when given), and signed for its `iss` DID by a
 * key of its DID document (`verifyDidJws`, relationship `assertionMethod`: the owner key, an ERC-1271 owner, a
 * veriKey delegate named by `kid`).
 *
 * @throws {CredentialError} `status-unavailable`: malformed, another list or issuer, or not signed by the issuer;
 * `did-unresolvable` from the resolution.
 */
export async function verifyStatusList(
  parameters: DidKeyResolution & {
    jwt: string;
    uri?: string | undefined;
    /** The issuer DID the list must be of (a credential's `iss`). */
    issuer?: string | undefined;
    /** The issuer's owner, when the caller already read it. */
    owner?: Address | undefined;
  },
): Promise<CheckedStatusList> {
  const parsed = parseStatusListJwt(parameters);
  if (parameters.issuer !== undefined && parseDid(parameters.issuer).did !== parsed.iss)
    throw statusFailure("it is another issuer's list");
  const ok = await verifyDidJws({
    ...parameters,
    did: parsed.iss,
    signingInput: parsed.signingInput,
    signature: parsed.signature,
    kid: parsed.kid,
    relationship: 'assertionMethod',
  });
  if (!ok) throw statusFailure('not signed by the issuer');
  return parsed.checked;
}

function statusFailure(why: string): CredentialError {
  return new CredentialError('status-unavailable', `status list refused: ${why}`);
}

function parseStatusListJwt(parameters: { jwt: string; uri?: string | undefined }): {
  checked: CheckedStatusList;
  iss: string;
  kid: string | undefined;
  signingInput: string;
  signature: string;
} {
  const { jwt } = parameters;
  const parts = jwt.split('.');
  const fail = statusFailure;
  if (parts.length !== 3) throw fail('not a compact JWT');
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(decoder.decode(base64urlnopad.decode(parts[0] as string)));
    payload = JSON.parse(decoder.decode(base64urlnopad.decode(parts[1] as string)));
  } catch {
    throw fail('not base64url JSON');
  }
  if (header.alg !== 'ES256K' || header.typ !== 'statuslist+jwt') throw fail('not an ES256K statuslist+jwt');
  if (typeof payload.iss !== 'string' || typeof payload.sub !== 'string' || typeof payload.iat !== 'number')
    throw fail('iss, sub and iat are required');
  if (parameters.uri !== undefined && payload.sub !== parameters.uri) throw fail('it is another list');
  let statuses: StatusList;
  try {
    statuses = getListFromStatusListJWT(jwt);
  } catch {
    throw fail('the list does not decompress');
  }
  const issuer = parseDid(payload.iss);
  return {
    checked: { issuer: issuer.address, uri: payload.sub, iat: payload.iat, statuses },
    iss: issuer.did,
    kid: typeof header.kid === 'string' ? header.kid : undefined,
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: parts[2] as string,
  };
}

function b64json(value: unknown): string {
  return base64urlnopad.encode(encoder.encode(JSON.stringify(value)));
}
