import { Type } from '@sinclair/typebox';
import type { Hex } from 'viem';
import { submitRevocation, verifyRevocation } from '../../vault/submitRevocation.ts';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, SignatureSchema, UintSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/grants/{id}/revoke`: the patient-signed `Revoke`. */
export const RevokeSubmission = Type.Object(
  { grantId: Bytes32Schema, nonce: UintSchema, deadline: UintSchema, signature: SignatureSchema },
  { additionalProperties: false },
);

/** Answer of `POST /v1/grants/{id}/revoke`. */
export const RevokeReceipt = Type.Object(
  { revokeDigest: Type.String(), deletedRecordIds: Type.Array(Type.String()) },
  { additionalProperties: false },
);

const toRevoke = (body: { grantId: string; nonce: string; deadline: string; signature: string }) => ({
  grantId: body.grantId as Hex,
  nonce: BigInt(body.nonce),
  deadline: BigInt(body.deadline),
  signature: body.signature as Hex,
});

/**
 * `POST /v1/grants/{id}/revoke`: relay a signed `Revoke` and delete the grantee's stanzas no other active grant of
 * the patient covers, at once (flow 4).
 */
export const postGrantRevoke = defineRoute({
  operationId: 'postGrantRevoke',
  method: 'POST',
  path: '/v1/grants/{id}/revoke',
  summary: 'Revoke a grant (signed Revoke); the grantee’s stanzas are deleted at once',
  tags: ['vault'],
  auth: 'signed-payload',
  params: Type.Object({ id: Bytes32Schema }),
  body: RevokeSubmission,
  responses: { 200: { description: 'revoked in the vault; queued for the chain', schema: RevokeReceipt } },
  verifyPayload: async ({ body, services }) =>
    (await vaultCall(() => verifyRevocation({ vault: services.vault, revoke: toRevoke(body) }))).patient,
  handler: async ({ params, body, services }) => {
    if (params.id.toLowerCase() !== body.grantId.toLowerCase()) {
      throw new ApiError({
        status: 400,
        code: 'grant-mismatch',
        detail: 'the path and the body name different grants',
      });
    }
    const result = await vaultCall(() => submitRevocation({ vault: services.vault, revoke: toRevoke(body) }));
    services.outbox.wake();
    return { status: 200, body: result };
  },
});
