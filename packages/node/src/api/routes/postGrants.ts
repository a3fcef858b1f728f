import { Type } from '@sinclair/typebox';
import type { Address, Hex } from 'viem';
import { submitGrant } from '../../vault/submitGrant.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, SignatureSchema, StanzaSchema, UintSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/grants`. */
export const GrantSubmission = Type.Object(
  {
    grant: Type.Object(
      {
        patient: AddressSchema,
        grantee: AddressSchema,
        scopeKind: Type.Integer({ minimum: 0, maximum: 2 }),
        scopeData: Type.Array(Bytes32Schema, { maxItems: 64 }),
        purpose: Bytes32Schema,
        expiresAt: UintSchema,
        requestId: Bytes32Schema,
        nonce: UintSchema,
        deadline: UintSchema,
        signature: SignatureSchema,
      },
      { additionalProperties: false },
    ),
    recipient: Type.String({ maxLength: 100, description: "the grantee's X25519 key (age1…)" }),
    scopeRecordIds: Type.Optional(Type.Array(Bytes32Schema, { maxItems: 5000 })),
    stanzas: Type.Array(
      Type.Object({ recordId: Bytes32Schema, stanza: StanzaSchema }, { additionalProperties: false }),
      {
        maxItems: 5000,
      },
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/grants`. */
export const GrantReceipt = Type.Object(
  { grantDigest: Type.String(), recordIds: Type.Array(Type.String()) },
  { additionalProperties: false },
);

/**
 * `POST /v1/grants`: relay a patient-signed `Grant` and store the grantee's stanzas (flow 2). The NodeRequest
 * signer must be the grant's patient.
 */
export const postGrants = defineRoute({
  operationId: 'postGrants',
  method: 'POST',
  path: '/v1/grants',
  summary: 'Relay a signed grant and store the grantee’s stanzas',
  tags: ['vault'],
  auth: 'node-request',
  body: GrantSubmission,
  responses: { 201: { description: 'stored; the grant is queued for the chain', schema: GrantReceipt } },
  handler: async ({ body, identity, services }) => {
    const g = body.grant;
    const result = await vaultCall(() =>
      submitGrant({
        vault: services.vault,
        identity,
        grant: {
          patient: g.patient as Address,
          grantee: g.grantee as Address,
          scopeKind: g.scopeKind,
          scopeData: g.scopeData as Hex[],
          purpose: g.purpose as Hex,
          expiresAt: BigInt(g.expiresAt),
          requestId: g.requestId as Hex,
          nonce: BigInt(g.nonce),
          deadline: BigInt(g.deadline),
          signature: g.signature as Hex,
        },
        recipient: body.recipient,
        scopeRecordIds: body.scopeRecordIds as Hex[] | undefined,
        stanzas: body.stanzas.map((s) => ({ recordId: s.recordId as Hex, stanza: s.stanza })),
      }),
    );
    services.outbox.wake();
    return { status: 201, body: result };
  },
});
