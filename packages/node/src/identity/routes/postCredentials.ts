import {
  CredentialError,
  parseDid,
  type VerifiedCredential,
  verifyPresentation,
} from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import { type Address, hexToBytes } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { logIdentityAttempt } from '../logIdentityAttempt.ts';
import { createHeadVerifier } from '../nodeVerifier.ts';
import { REFUSAL_STATUS } from '../refusalStatus.ts';
import { VerifiedIdentity } from './getCredential.ts';

const Body = Type.Object(
  {
    presentation: Type.String({
      maxLength: 16_384,
      description: 'SD-JWT VC presentation with a KB-JWT whose aud is this node and nonce a live challenge',
    }),
  },
  { additionalProperties: false },
);

type Body = { presentation: string };

/** Verified on arrival by `verifyPayload`, handed to the handler (same body object). */
const verifiedBodies = new WeakMap<object, VerifiedCredential>();

function kbNonce(presentation: string): string | undefined {
  const kb = presentation.split('~').at(-1)?.split('.')[1];
  if (kb === undefined || kb === '') return undefined;
  try {
    const nonce = (JSON.parse(Buffer.from(kb, 'base64url').toString('utf8')) as { nonce?: unknown }).nonce;
    return typeof nonce === 'string' ? nonce : undefined;
  } catch {
    return undefined;
  }
}

async function refuse(services: ApiServices, error: CredentialError, actor?: Address): Promise<never> {
  await logIdentityAttempt({
    sql: services.sql,
    operation: 'present-credential',
    actor,
    outcome: 'refused',
    reason: error.reason,
  });
  throw new ApiError({
    status: REFUSAL_STATUS[error.reason],
    code: error.reason,
    detail: error.shortMessage,
    cause: error,
  });
}

async function verifyArrival({ body, services }: { body: Body; services: ApiServices }): Promise<Address> {
  const nonce = kbNonce(body.presentation) ?? '';
  try {
    const { rows } = await services.sql.query(
      'select 1 from identity_challenges where nonce = $1 and used_at is null and expires_at > now()',
      [nonce],
    );
    if (rows.length === 0) {
      throw new CredentialError(
        'wrong-nonce',
        'the presentation does not answer a live challenge of this node (stale, used or unknown nonce)',
        {
          hint: 'GET /v1/credentials/challenge and present again',
        },
      );
    }
    const verified = await verifyPresentation({
      presentation: body.presentation,
      audience: services.audience,
      nonce,
      // At the head after arrival, through the per-block cache the release path uses (T-4, T-7, T-24).
      ...(await createHeadVerifier(services)),
    });
    verifiedBodies.set(body, verified);
    return parseDid(verified.subject).address;
  } catch (error) {
    if (error instanceof CredentialError) return refuse(services, error);
    throw error;
  }
}

/**
 * `POST /v1/credentials`: a clinician presents a credential to this node (aud = the node's audience, nonce = a
 * live challenge). Verified on arrival (issuer trusted, signatures, key binding, status, expiry); the challenge is
 * used up and the disclosed claims kept as the identity's latest credential, which `GET /v1/credentials/{address}`
 * shows patients (re-checked each time). Every refusal is logged in `identity_attempts` and changes nothing else.
 */
export const postCredentials = defineRoute({
  operationId: 'postCredentials',
  method: 'POST',
  path: '/v1/credentials',
  summary: 'Present a provider credential (SD-JWT VC + KB-JWT) to this node',
  tags: ['identity'],
  auth: 'signed-payload',
  body: Body,
  responses: {
    201: { description: 'verified and stored', schema: VerifiedIdentity },
    400: { description: 'malformed, unsupported alg, tampered disclosure, unresolvable DID' },
    401: { description: 'key binding missing or wrong, wrong audience, stale or replayed nonce' },
    403: { description: 'untrusted issuer, bad signature, expired, revoked' },
  },
  verifyPayload: verifyArrival,
  handler: async ({ body, identity, services }) => {
    const verified = verifiedBodies.get(body);
    if (verified === undefined) throw new Error('postCredentials: body was not verified');
    const nonce = kbNonce(body.presentation) ?? '';
    const issuer = parseDid(verified.issuer).address;
    const stored = await services.sql.transaction(async (tx) => {
      const used = await tx.query(
        'update identity_challenges set used_at = now() where nonce = $1 and used_at is null and expires_at > now() returning 1',
        [nonce],
      );
      if (used.rowCount === 0) return false;
      await tx.query(
        `insert into identity_presentations (identity, presentation, issuer, issuer_name, claims, status_uri, status_idx, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (identity) do update set presentation = excluded.presentation, issuer = excluded.issuer,
           issuer_name = excluded.issuer_name, claims = excluded.claims, status_uri = excluded.status_uri,
           status_idx = excluded.status_idx, expires_at = excluded.expires_at, verified_at = now()`,
        [
          hexToBytes(identity),
          body.presentation,
          hexToBytes(issuer),
          verified.issuerName,
          JSON.stringify(verified.claims),
          verified.status.uri,
          verified.status.idx,
          verified.expiresAt,
        ],
      );
      return true;
    });
    if (!stored) {
      await refuse(
        services,
        new CredentialError('wrong-nonce', 'this challenge was already used (replayed presentation)'),
        identity,
      );
    }
    await logIdentityAttempt({
      sql: services.sql,
      operation: 'present-credential',
      actor: identity,
      outcome: 'accepted',
    });
    return {
      status: 201,
      body: {
        identity,
        did: verified.subject,
        verified: true,
        issuer: verified.issuer,
        issuerName: verified.issuerName,
        claims: verified.claims,
        expiresAt: new Date(verified.expiresAt * 1000).toISOString(),
        verifiedAt: new Date().toISOString(),
      },
    };
  },
});
