import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { errors, jwtVerify, SignJWT } from 'jose';
import { type Address, hexToBytes } from 'viem';
import { FhirError } from '../fhir/FhirError.ts';
import { parseSmartScopes, type SmartScope } from './smartScopes.ts';

/** HKDF salt of the gateway's token key (versioned: a new derivation gets a new salt, old tokens stop working). */
export const GATEWAY_TOKEN_HKDF_SALT = 'Carekey gateway token key v1';
const ISSUER = 'carekey-gateway';
/** Longest lifetime of a token: 30 days. */
export const MAX_TOKEN_SECONDS = 30 * 24 * 3600;

/**
 * The HMAC key of the gateway's bearer tokens, derived from the wallet's secp256k1 key with HKDF-SHA256: only the
 * wallet holder can issue tokens and only its gateway can check them, with no key file to leak.
 */
export function gatewayTokenKey(privateKey: `0x${string}`): Uint8Array {
  return hkdf(
    sha256,
    hexToBytes(privateKey),
    new TextEncoder().encode(GATEWAY_TOKEN_HKDF_SALT),
    new TextEncoder().encode('carekey/gateway-token'),
    32,
  );
}

export type IssueGatewayTokenParameters = {
  privateKey: `0x${string}`;
  /** The gateway's identity (the token's audience). */
  owner: Address;
  /** Who the token is for (an app name): the `sub` claim, shown in the access log. */
  client: string;
  /** SMART scopes, space-separated. */
  scope: string;
  /** FHIR Patient id of the launch context: required by `patient/` scopes. */
  patient?: string | undefined;
  /** Lifetime in seconds (at most {@link MAX_TOKEN_SECONDS}). */
  expiresIn: number;
};

/** A verified token. */
export type GatewayCaller = {
  client: string;
  scopes: SmartScope[];
  patient: string | undefined;
  expiresAt: number;
  tokenId: string;
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/u;

/**
 * Issues a bearer token for a local app: an HS256 JWT (`iss` carekey-gateway, `aud` the gateway's address, `sub`
 * the client, `scope`, `patient`, `exp`, `jti`).
 *
 * @throws FhirError on a malformed scope, a `patient/` scope without a patient, or a lifetime out of range.
 */
export async function issueGatewayToken(
  parameters: IssueGatewayTokenParameters,
): Promise<{ token: string; expiresAt: number }> {
  const scopes = parseSmartScopes(parameters.scope);
  if (scopes.length === 0)
    throw new FhirError(400, 'invalid', 'no SMART scope given (e.g. user/*.rs)', ['scope']);
  if (parameters.patient !== undefined && !FHIR_ID.test(parameters.patient)) {
    throw new FhirError(
      400,
      'invalid',
      `not a FHIR Patient id: ${JSON.stringify(parameters.patient.slice(0, 80))}`,
      ['patient'],
    );
  }
  if (scopes.some((s) => s.context === 'patient') && parameters.patient === undefined) {
    throw new FhirError(
      400,
      'invalid',
      'patient/ scopes need the patient they are for (--patient <FHIR Patient id>)',
      ['patient'],
    );
  }
  if (
    !Number.isInteger(parameters.expiresIn) ||
    parameters.expiresIn < 1 ||
    parameters.expiresIn > MAX_TOKEN_SECONDS
  ) {
    throw new FhirError(400, 'invalid', `a token lasts 1 s to 30 days, not ${parameters.expiresIn} s`, [
      'expires',
    ]);
  }
  if (!/^[\w.@:-]{1,64}$/u.test(parameters.client)) {
    throw new FhirError(
      400,
      'invalid',
      `client name ${JSON.stringify(parameters.client.slice(0, 80))}: use 1-64 letters, digits, . _ - @ :`,
      ['client'],
    );
  }
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + parameters.expiresIn;
  const token = await new SignJWT({
    scope: scopes.map((s) => s.text).join(' '),
    ...(parameters.patient === undefined ? {} : { patient: parameters.patient }),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(parameters.owner.toLowerCase())
    .setSubject(parameters.client)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .setJti(crypto.randomUUID())
    .sign(gatewayTokenKey(parameters.privateKey));
  return { token, expiresAt };
}

/**
 * Checks an `Authorization` header: `Bearer <jwt>`, HS256 under this gateway's key, for this gateway, not expired.
 *
 * @throws FhirError 401 (`login`, `expired`) — the message never echoes the token.
 */
export async function verifyGatewayToken(parameters: {
  key: Uint8Array;
  owner: Address;
  authorization: string | undefined;
}): Promise<GatewayCaller> {
  const header = parameters.authorization;
  if (header === undefined || header.length === 0) {
    throw new FhirError(
      401,
      'login',
      'no bearer token: send Authorization: Bearer <token from `carekey gateway token`>',
    );
  }
  const m = /^Bearer ([A-Za-z0-9_\-.]{1,4096})$/u.exec(header);
  if (m === null)
    throw new FhirError(401, 'login', 'malformed Authorization header: expected Bearer <token>');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(m[1] as string, parameters.key, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: parameters.owner.toLowerCase(),
      requiredClaims: ['exp', 'sub', 'scope', 'jti'],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired)
      throw new FhirError(401, 'expired', 'the bearer token has expired');
    throw new FhirError(
      401,
      'login',
      'invalid bearer token (not issued by this gateway, altered or malformed)',
    );
  }
  const { sub, scope, patient, exp, jti } = payload;
  if (
    typeof sub !== 'string' ||
    typeof scope !== 'string' ||
    typeof exp !== 'number' ||
    typeof jti !== 'string'
  ) {
    throw new FhirError(401, 'login', 'invalid bearer token claims');
  }
  if (patient !== undefined && (typeof patient !== 'string' || !FHIR_ID.test(patient))) {
    throw new FhirError(401, 'login', 'invalid bearer token claims');
  }
  return { client: sub, scopes: parseSmartScopes(scope), patient, expiresAt: exp, tokenId: jti };
}
