import { Type } from '@sinclair/typebox';
import type { Address, Hex } from 'viem';
import { type ShredRequestInput, shredRecord, verifyShred } from '../../vault/shredRecord.ts';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, SignedPartSchema } from './vaultSchemas.ts';

/**
 * Body of `POST /v1/records/{id}/shred`: a signed `Shred(Request)` or `Shred(Cancel)` with the patient's next
 * RecordRegistry nonce. Nothing else: the node relays the permissionless finalisation itself after the delay.
 */
export const ShredSubmission = Type.Object(
  {
    action: Type.Union([Type.Literal('request'), Type.Literal('cancel')]),
    patient: AddressSchema,
    recordId: Bytes32Schema,
    request: SignedPartSchema,
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/records/{id}/shred`. */
export const ShredReceipt = Type.Object(
  { state: Type.String(), executableAt: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

type Part = { nonce: string; deadline: string; signature: string };
type Body = {
  action: 'request' | 'cancel';
  patient: string;
  recordId: string;
  request: Part;
};

function toInput(body: Body): ShredRequestInput {
  const part = (p: Part) => ({
    nonce: BigInt(p.nonce),
    deadline: BigInt(p.deadline),
    signature: p.signature as Hex,
  });
  return {
    action: body.action,
    patient: body.patient as Address,
    recordId: body.recordId as Hex,
    request: part(body.request),
  };
}

/**
 * `POST /v1/records/{id}/shred`: forget a record, two-phase (flow 5): pending at once (every release refused),
 * finalised after the shred delay (stanzas and salt destroyed, tombstone kept); `cancel` within the delay.
 */
export const postRecordShred = defineRoute({
  operationId: 'postRecordShred',
  method: 'POST',
  path: '/v1/records/{id}/shred',
  summary:
    'Shred a record (signed Shred request; finalised by the node after the delay), or cancel a pending shred',
  tags: ['vault'],
  auth: 'signed-payload',
  params: Type.Object({ id: Bytes32Schema }),
  body: ShredSubmission,
  responses: { 200: { description: 'the record’s state now', schema: ShredReceipt } },
  verifyPayload: async ({ body, services }) =>
    (await vaultCall(() => verifyShred({ vault: services.vault, input: toInput(body) }))).patient,
  handler: async ({ params, body, services }) => {
    if (params.id.toLowerCase() !== body.recordId.toLowerCase()) {
      throw new ApiError({
        status: 400,
        code: 'record-mismatch',
        detail: 'the path and the body name different records',
      });
    }
    const result = await vaultCall(() => shredRecord({ vault: services.vault, input: toInput(body) }));
    services.outbox.wake();
    return {
      status: 200,
      body: {
        state: result.state,
        ...(result.executableAt === undefined ? {} : { executableAt: String(result.executableAt) }),
      },
    };
  },
});
