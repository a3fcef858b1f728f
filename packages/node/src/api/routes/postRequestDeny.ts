import { Type } from '@sinclair/typebox';
import type { Hex } from 'viem';
import { submitDenial, verifyDenial } from '../../vault/submitDenial.ts';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, SignatureSchema, UintSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/requests/{id}/deny`: the patient-signed `Deny`. */
export const DenySubmission = Type.Object(
  { requestId: Bytes32Schema, nonce: UintSchema, deadline: UintSchema, signature: SignatureSchema },
  { additionalProperties: false },
);

/** Answer of `POST /v1/requests/{id}/deny`. */
export const DenyReceipt = Type.Object(
  { denyDigest: Type.String(), requestId: Type.String() },
  { additionalProperties: false },
);

const toDeny = (body: { requestId: string; nonce: string; deadline: string; signature: string }) => ({
  requestId: body.requestId.toLowerCase() as Hex,
  nonce: BigInt(body.nonce),
  deadline: BigInt(body.deadline),
  signature: body.signature as Hex,
});

/** `POST /v1/requests/{id}/deny`: relay the patient's signed `Deny` of a pending access request (flow 7). */
export const postRequestDeny = defineRoute({
  operationId: 'postRequestDeny',
  method: 'POST',
  path: '/v1/requests/{id}/deny',
  summary: 'Deny an access request (signed Deny)',
  tags: ['requests'],
  auth: 'signed-payload',
  params: Type.Object({ id: Bytes32Schema }),
  body: DenySubmission,
  responses: { 202: { description: 'queued for the chain', schema: DenyReceipt } },
  verifyPayload: async ({ body, services }) =>
    (await vaultCall(() => verifyDenial({ vault: services.vault, deny: toDeny(body) }))).patient,
  handler: async ({ params, body, services }) => {
    if (params.id.toLowerCase() !== body.requestId.toLowerCase()) {
      throw new ApiError({
        status: 400,
        code: 'request-mismatch',
        detail: 'the path and the body name different requests',
      });
    }
    const result = await vaultCall(() => submitDenial({ vault: services.vault, deny: toDeny(body) }));
    services.outbox.wake();
    return { status: 202, body: result };
  },
});
