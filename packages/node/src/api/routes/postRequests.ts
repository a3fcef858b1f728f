import { Type } from '@sinclair/typebox';
import type { Address, Hex } from 'viem';
import { MAX_SEALED_NOTE, submitAccessRequest } from '../../vault/submitAccessRequest.ts';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, SignatureSchema, UintSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/requests`. */
export const AccessRequestSubmission = Type.Object(
  {
    request: Type.Object(
      {
        requester: AddressSchema,
        patient: AddressSchema,
        scopeKind: Type.Integer({ minimum: 0, maximum: 2 }),
        scopeData: Type.Array(Bytes32Schema, { maxItems: 1 }),
        purpose: Bytes32Schema,
        expiresAt: UintSchema,
        nonce: UintSchema,
        deadline: UintSchema,
        signature: SignatureSchema,
      },
      { additionalProperties: false },
    ),
    sealed: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9+/]*={0,2}$',
        maxLength: Math.ceil(MAX_SEALED_NOTE / 3) * 4,
        description: 'base64 age file encrypted to the patient: the categories asked for and the reason',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/requests`. */
export const AccessRequestReceipt = Type.Object(
  { requestDigest: Type.String() },
  { additionalProperties: false },
);

/**
 * `POST /v1/requests`: a provider files a signed `AccessRequest` (flow 7); the node relays it through the outbox.
 * The NodeRequest signer must be the requester.
 */
export const postRequests = defineRoute({
  operationId: 'postRequests',
  method: 'POST',
  path: '/v1/requests',
  summary: 'File a signed access request to a patient',
  tags: ['requests'],
  auth: 'node-request',
  body: AccessRequestSubmission,
  responses: { 201: { description: 'queued for the chain', schema: AccessRequestReceipt } },
  handler: async ({ body, identity, services }) => {
    const r = body.request;
    const sealed = body.sealed === undefined ? undefined : new Uint8Array(Buffer.from(body.sealed, 'base64'));
    if (sealed !== undefined && Buffer.from(sealed).toString('base64') !== body.sealed) {
      throw new ApiError({ status: 400, code: 'invalid-request', detail: 'sealed is not canonical base64' });
    }
    const result = await vaultCall(() =>
      submitAccessRequest({
        vault: services.vault,
        identity,
        request: {
          requester: r.requester as Address,
          patient: r.patient as Address,
          scopeKind: r.scopeKind,
          scopeData: r.scopeData as Hex[],
          purpose: r.purpose as Hex,
          expiresAt: BigInt(r.expiresAt),
          nonce: BigInt(r.nonce),
          deadline: BigInt(r.deadline),
          signature: r.signature as Hex,
        },
        sealed,
      }),
    );
    services.outbox.wake();
    return { status: 201, body: result };
  },
});
