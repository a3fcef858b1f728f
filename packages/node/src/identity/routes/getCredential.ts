import { toDid } from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import { bytesToHex, getAddress, hexToBytes } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { createNodeVerifier } from '../nodeVerifier.ts';
import { recheckCredential } from '../recheckCredential.ts';

/** Who an identity verifiably is: the claims it disclosed, by which issuer, and whether that still holds. */
export const VerifiedIdentity = Type.Object(
  {
    identity: AddressSchema,
    did: Type.String(),
    verified: Type.Boolean({ description: 'false when the credential no longer holds (see reason)' }),
    reason: Type.Optional(
      Type.String({ description: 'why it no longer holds: revoked, expired, untrusted-issuer…' }),
    ),
    issuer: Type.String({ description: "the issuer's DID" }),
    issuerName: Type.String(),
    claims: Type.Object(
      {
        role: Type.Optional(Type.String()),
        licence: Type.Optional(Type.String()),
        specialty: Type.Optional(Type.String()),
        organisation: Type.Optional(Type.String()),
      },
      { additionalProperties: false, description: 'only the disclosed claims' },
    ),
    expiresAt: Type.String(),
    verifiedAt: Type.String(),
  },
  { additionalProperties: false },
);

type Row = {
  issuer: Uint8Array;
  issuer_name: string;
  claims: Record<string, string> | string;
  status_uri: string;
  status_idx: number;
  expires_at: string | number | bigint;
  verified_at: Date | string;
};

/**
 * `GET /v1/credentials/{address}`: the identity's latest verified credential — only its disclosed claims — re-checked
 * now (issuer still trusted, not expired, not revoked). Public: a clinician presents it so patients can see it.
 */
export const getCredential = defineRoute({
  operationId: 'getCredential',
  method: 'GET',
  path: '/v1/credentials/{address}',
  summary: 'The verified, disclosed identity of a grantee or requester (re-checked now)',
  tags: ['identity'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  responses: {
    200: { description: 'the identity', schema: VerifiedIdentity },
    404: { description: 'this identity never presented a credential here (problem `no-credential`)' },
  },
  handler: async ({ params, services }) => {
    const identity = getAddress(params.address.toLowerCase());
    const { rows } = await services.sql.query<Row>(
      'select issuer, issuer_name, claims, status_uri, status_idx, expires_at, verified_at from identity_presentations where identity = $1',
      [hexToBytes(identity)],
    );
    const row = rows[0];
    if (row === undefined) {
      throw new ApiError({
        status: 404,
        code: 'no-credential',
        detail: 'this identity has presented no credential to this node',
      });
    }
    const issuer = getAddress(bytesToHex(row.issuer));
    const issuerDid = toDid({ address: issuer, chainId: services.chain.chainId });
    const expiresAt = Number(row.expires_at);
    const reason = await recheckCredential(createNodeVerifier(services), {
      issuer,
      issuerDid,
      statusUri: row.status_uri,
      statusIdx: row.status_idx,
      expiresAt,
    });
    return {
      status: 200,
      body: {
        identity,
        did: toDid({ address: identity, chainId: services.chain.chainId }),
        verified: reason === undefined,
        ...(reason === undefined ? {} : { reason }),
        issuer: issuerDid,
        issuerName: row.issuer_name,
        claims: typeof row.claims === 'string' ? JSON.parse(row.claims) : row.claims,
        expiresAt: new Date(expiresAt * 1000).toISOString(),
        verifiedAt: new Date(row.verified_at).toISOString(),
      },
    };
  },
});
