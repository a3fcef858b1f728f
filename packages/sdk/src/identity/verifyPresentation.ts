import { base64urlnopad } from '@scure/base';
import type { Address } from 'viem';
import { CredentialError } from './CredentialError.ts';
import { parseDid } from './did.ts';
import { CLINICIAN_CLAIMS, CLINICIAN_VCT, type ClinicianClaim, hasher, sdJwtVc } from './sdJwt.ts';
import { STATUS_VALID, verifyStatusList } from './statusList.ts';
import { type DidKeyResolution, jwsKid, verifyDidJws } from './verifyDidJws.ts';

export type VerifyPresentationParameters = DidKeyResolution & {
  /** The compact SD-JWT VC presentation with its KB-JWT (`<jwt>~<disclosure>~…~<kb-jwt>`). */
  presentation: string;
  /** This verifier's id: the KB-JWT's `aud` must equal it (a presentation made for another verifier is refused). */
  audience: string;
  /** The challenge this verifier handed out: the KB-JWT's `nonce` must equal it. */
  nonce: string;
  /** Whether the issuer identity is in `TrustedIssuers` on chain. */
  isTrustedIssuer: (issuer: Address) => Promise<boolean>;
  /** The status list JWT at `uri` (only URIs this verifier trusts to fetch: no arbitrary URLs, T-21). */
  fetchStatusList: (uri: string) => Promise<string>;
  /** Seconds since epoch (default now). */
  now?: number | undefined;
  /** Oldest KB-JWT `iat` accepted, in seconds before `now` (default 300). */
  maxAge?: number | undefined;
};

/** What a verified presentation proves: only the disclosed claims. */
export type VerifiedCredential = {
  issuer: string;
  issuerName: string;
  subject: string;
  /** The disclosed claims; withheld ones are absent. */
  claims: Partial<Record<ClinicianClaim, string>>;
  issuedAt: number;
  expiresAt: number;
  status: { uri: string; idx: number };
  /** The KB-JWT's `iat`. */
  presentedAt: number;
};

const decoder = new TextDecoder();
const SKEW = 60;

function json(segment: string | undefined): Record<string, unknown> {
  if (segment === undefined || segment === '') throw new Error('empty');
  const value: unknown = JSON.parse(decoder.decode(base64urlnopad.decode(segment)));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value as Record<string, unknown>;
}

function collectDigests(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (
        typeof item === 'object' &&
        item !== null &&
        typeof (item as { '...'?: unknown })['...'] === 'string'
      ) {
        into.add((item as { '...': string })['...']);
      }
      collectDigests(item, into);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '_sd' && Array.isArray(item))
        for (const d of item)
          if (typeof d === 'string') into.add(d);
          else collectDigests(item, into);
    }
  }
}

/**
 * Verifies a clinician's presentation (THREAT-MODEL T-7), cheapest checks first, and returns only what it
 * discloses: form and algorithm (ES256K only: no `none`, no HMAC), expiry, KB-JWT audience, nonce and age, every
 * disclosure referenced by the signed payload, issuer ∈ `TrustedIssuers`, issuer signature by the issuer DID's
 * current owner, KB-JWT signature by the subject DID's current owner over the `sd_hash`, and the Token Status List
 * entry (signed by the issuer, for that URI) equal to 0.
 *
 * @throws {CredentialError} with the `reason` of the first check that failed.
 */
export async function verifyPresentation(
  parameters: VerifyPresentationParameters,
): Promise<VerifiedCredential> {
  const now = parameters.now ?? Math.floor(Date.now() / 1000);
  const maxAge = parameters.maxAge ?? 300;
  const { presentation } = parameters;
  if (presentation.length > 16_384) throw new CredentialError('malformed', 'the presentation is too large');
  const parts = presentation.split('~');
  const jwt = parts[0] ?? '';
  const kbJwt = parts.at(-1) ?? '';
  const disclosures = parts.slice(1, -1);
  if (parts.length < 2) throw new CredentialError('malformed', 'not an SD-JWT (<jwt>~…~<kb-jwt>)');
  if (kbJwt === '') {
    throw new CredentialError('missing-key-binding', 'the presentation has no key-binding JWT', {
      hint: 'present it with `carekey credential present --audience … --nonce …`',
    });
  }
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  let kbHeader: Record<string, unknown>;
  let kb: Record<string, unknown>;
  try {
    const [h, p] = jwt.split('.');
    header = json(h);
    payload = json(p);
    const [kh, kp] = kbJwt.split('.');
    kbHeader = json(kh);
    kb = json(kp);
  } catch {
    throw new CredentialError('malformed', 'the credential or its key-binding JWT is not base64url JSON');
  }
  if (header.alg !== 'ES256K' || kbHeader.alg !== 'ES256K') {
    throw new CredentialError(
      'unsupported-alg',
      `algorithm '${String(header.alg ?? kbHeader.alg).slice(0, 20)}' refused: only ES256K`,
    );
  }
  if ((header.typ !== 'dc+sd-jwt' && header.typ !== 'vc+sd-jwt') || kbHeader.typ !== 'kb+jwt') {
    throw new CredentialError('malformed', 'wrong typ: expected dc+sd-jwt with a kb+jwt');
  }
  const { iss, sub, exp, iat, nbf, vct, cnf, status } = payload as {
    iss?: unknown;
    sub?: unknown;
    exp?: unknown;
    iat?: unknown;
    nbf?: unknown;
    vct?: unknown;
    cnf?: { kid?: unknown };
    status?: { status_list?: { uri?: unknown; idx?: unknown } };
  };
  if (
    vct !== CLINICIAN_VCT ||
    typeof iss !== 'string' ||
    typeof sub !== 'string' ||
    typeof exp !== 'number' ||
    typeof iat !== 'number'
  ) {
    throw new CredentialError(
      'malformed',
      `not a Carekey clinician credential (vct ${CLINICIAN_VCT}, iss, sub, iat, exp)`,
    );
  }
  const statusUri = status?.status_list?.uri;
  const statusIdx = status?.status_list?.idx;
  if (
    typeof statusUri !== 'string' ||
    typeof statusIdx !== 'number' ||
    !Number.isSafeInteger(statusIdx) ||
    statusIdx < 0
  ) {
    throw new CredentialError('malformed', 'the credential has no status list entry');
  }
  const issuer = parseDid(iss);
  const subject = parseDid(sub);
  if (cnf?.kid !== `${subject.did}#controller`) {
    throw new CredentialError('malformed', 'the credential is not bound to its subject DID (cnf.kid)');
  }
  if (exp <= now) {
    throw new CredentialError('expired', `the credential expired at ${new Date(exp * 1000).toISOString()}`);
  }
  if (typeof nbf === 'number' && nbf > now + SKEW)
    throw new CredentialError('not-yet-valid', 'the credential is not valid yet');
  if (kb.aud !== parameters.audience) {
    throw new CredentialError('wrong-audience', 'the presentation was made for another verifier', {
      hint: `present it again for audience ${parameters.audience}`,
    });
  }
  if (kb.nonce !== parameters.nonce) {
    throw new CredentialError(
      'wrong-nonce',
      'the presentation answers another challenge (stale or replayed nonce)',
      {
        hint: 'ask the verifier for a fresh nonce and present again',
      },
    );
  }
  if (typeof kb.iat !== 'number' || kb.iat < now - maxAge || kb.iat > now + SKEW) {
    throw new CredentialError(
      'stale-presentation',
      `the presentation is older than ${maxAge} s or dated in the future`,
    );
  }
  const digests = new Set<string>();
  collectDigests(payload, digests);
  for (const disclosure of disclosures) {
    if (!digests.has(base64urlnopad.encode(hasher(disclosure, 'sha-256')))) {
      throw new CredentialError('tampered-disclosure', 'a disclosure is not one the issuer signed');
    }
  }
  if (!(await parameters.isTrustedIssuer(issuer.address))) {
    throw new CredentialError('untrusted-issuer', `${issuer.did} is not in TrustedIssuers`, {
      hint: 'governors add issuers with `carekey issuer add`',
    });
  }
  const [issuerOwner, holderOwner] = await Promise.all([
    parameters.resolveOwner(issuer.did),
    parameters.resolveOwner(subject.did),
  ]);
  let failed: 'bad-signature' | 'bad-key-binding' | undefined;
  let statusError: unknown;
  let resolutionError: unknown;
  // A resolution failure inside the library's callbacks is kept and rethrown as it was (not as 'malformed').
  const keyCheck = async (check: () => Promise<boolean>): Promise<boolean> => {
    try {
      return await check();
    } catch (error) {
      resolutionError = error;
      return false;
    }
  };
  const instance = sdJwtVc({
    // The issuer signs with a key of its DID document's assertionMethod (the owner, an ERC-1271 owner, a veriKey
    // delegate named by the header's kid); the key binding is by the subject's controller (cnf.kid).
    verifier: async (data, signature) => {
      const ok = await keyCheck(() =>
        verifyDidJws({
          ...parameters,
          did: issuer.did,
          signingInput: data,
          signature,
          kid: jwsKid(data),
          relationship: 'assertionMethod',
          owner: issuerOwner,
        }),
      );
      if (!ok) failed = 'bad-signature';
      return ok;
    },
    kbVerifier: async (data, signature) => {
      const ok = await keyCheck(() =>
        verifyDidJws({
          ...parameters,
          did: subject.did,
          signingInput: data,
          signature,
          relationship: 'authentication',
          owner: holderOwner,
        }),
      );
      if (!ok) failed = 'bad-key-binding';
      return ok;
    },
    // The fetcher checks the list is the issuer's (signature by its current owner, `sub` = the URI), so the
    // library's own list signature check is not repeated.
    statusListFetcher: async (uri) => {
      try {
        const list = await parameters.fetchStatusList(uri);
        await verifyStatusList({ ...parameters, jwt: list, uri, issuer: issuer.did, owner: issuerOwner });
        return list;
      } catch (error) {
        statusError = error;
        throw error;
      }
    },
    statusVerifier: () => true,
    statusValidator: async (value) => {
      if (value !== STATUS_VALID)
        throw new CredentialError('revoked', `${issuer.did} revoked this credential`);
    },
  });
  let verified: Awaited<ReturnType<typeof instance.verify>>;
  try {
    verified = await instance.verify(presentation, { keyBindingNonce: parameters.nonce, currentDate: now });
  } catch (error) {
    if (error instanceof CredentialError) throw error;
    if (resolutionError instanceof CredentialError) throw resolutionError;
    if (resolutionError !== undefined) {
      throw new CredentialError('did-unresolvable', 'a DID of the credential did not resolve', {
        cause: resolutionError,
      });
    }
    if (statusError !== undefined) {
      throw statusError instanceof CredentialError
        ? statusError
        : new CredentialError('status-unavailable', 'the status list could not be fetched', {
            cause: statusError,
          });
    }
    if (failed === 'bad-signature') {
      throw new CredentialError(
        'bad-signature',
        `the credential is not signed by the current key of ${issuer.did}`,
      );
    }
    if (failed === 'bad-key-binding' || /sd_hash|key binding/iu.test((error as Error).message)) {
      throw new CredentialError(
        'bad-key-binding',
        `the presentation is not signed by the current key of ${subject.did}`,
      );
    }
    throw new CredentialError(
      'malformed',
      `the presentation does not verify: ${(error as Error).message.slice(0, 80)}`,
      {
        cause: error,
      },
    );
  }
  const claims: Partial<Record<ClinicianClaim, string>> = {};
  const disclosed = verified.payload as Record<string, unknown>;
  for (const name of CLINICIAN_CLAIMS) {
    const value = disclosed[name];
    if (typeof value === 'string') claims[name] = value;
  }
  return {
    issuer: issuer.did,
    issuerName: typeof payload.issuer_name === 'string' ? payload.issuer_name : issuer.did,
    subject: subject.did,
    claims,
    issuedAt: iat,
    expiresAt: exp,
    status: { uri: statusUri, idx: statusIdx },
    presentedAt: kb.iat,
  };
}
