import { base64urlnopad } from '@scure/base';
import { createHeaderAndPayload, getListFromStatusListJWT, StatusList } from '@sd-jwt/jwt-status-list';
import type { Address, Hex } from 'viem';
import { CredentialError } from './CredentialError.ts';
import { parseDid } from './did.ts';
import { es256kSigner, verifyEs256k } from './es256k.ts';

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
    { alg: 'ES256K', typ: 'statuslist+jwt', kid: `${parameters.issuerDid}#controller` },
  );
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${es256kSigner(parameters.privateKey)(input)}`;
}

/** A status list JWT's verified contents. */
export type CheckedStatusList = { issuer: Address; uri: string; iat: number; statuses: StatusList };

/**
 * Checks a status list JWT is well formed and signed by `owner` (the issuer DID's current owner), for `uri`.
 *
 * @throws {CredentialError} `status-unavailable`: malformed, another list, or not signed by the issuer.
 */
export function checkStatusList(parameters: {
  jwt: string;
  owner: Address;
  uri?: string | undefined;
}): CheckedStatusList {
  const { jwt, owner } = parameters;
  const parts = jwt.split('.');
  const fail = (why: string) => new CredentialError('status-unavailable', `status list refused: ${why}`);
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
  if (!verifyEs256k(`${parts[0]}.${parts[1]}`, parts[2] as string, owner))
    throw fail('not signed by the issuer');
  let statuses: StatusList;
  try {
    statuses = getListFromStatusListJWT(jwt);
  } catch {
    throw fail('the list does not decompress');
  }
  return { issuer: parseDid(payload.iss).address, uri: payload.sub, iat: payload.iat, statuses };
}

function b64json(value: unknown): string {
  return base64urlnopad.encode(encoder.encode(JSON.stringify(value)));
}
