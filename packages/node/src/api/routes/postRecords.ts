import { Type } from '@sinclair/typebox';
import type { Address, Hex } from 'viem';
import { timeStage } from '../../stageLog.ts';
import { publishRecords } from '../../vault/publishRecords.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, SignatureSchema, StanzaSchema, UintSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/records`. */
export const PublishRequest = Type.Object(
  {
    patient: AddressSchema,
    records: Type.Array(
      Type.Object(
        {
          recordId: Bytes32Schema,
          blobId: Type.String({ maxLength: 100 }),
          categoryTag: Bytes32Schema,
          salt: Bytes32Schema,
          stanzas: Type.Array(
            Type.Object({ reader: AddressSchema, stanza: StanzaSchema }, { additionalProperties: false }),
            {
              minItems: 1,
              maxItems: 16,
            },
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
    publish: Type.Object(
      {
        root: Bytes32Schema,
        count: Type.Integer({ minimum: 1, maximum: 1000 }),
        nonce: UintSchema,
        deadline: UintSchema,
        signature: SignatureSchema,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/records`. */
export const PublishReceipt = Type.Object(
  {
    root: Type.String(),
    publishDigest: Type.String(),
    records: Type.Array(
      Type.Object({ recordId: Type.String(), leaf: Type.String(), proof: Type.Array(Type.String()) }),
    ),
  },
  { additionalProperties: false },
);

/**
 * `POST /v1/records`: publish a batch (docs/protocol.md flow 1). The caller (NodeRequest signer) is the publisher;
 * the vault validates everything, then stores records, stanzas, proofs and the outbox entry in one transaction.
 */
export const postRecords = defineRoute({
  operationId: 'postRecords',
  method: 'POST',
  path: '/v1/records',
  summary: 'Publish a batch of records: leaves, salts, stanzas and the signed Publish',
  tags: ['vault'],
  auth: 'node-request',
  body: PublishRequest,
  responses: {
    201: { description: 'stored; the batch root is queued for the chain', schema: PublishReceipt },
  },
  handler: async ({ body, identity, services }) => {
    const result = await timeStage('publishRecords (handler)', () =>
      vaultCall(() =>
        publishRecords({
          vault: services.vault,
          publisher: identity,
          patient: body.patient as Address,
          records: body.records.map((r) => ({
            recordId: r.recordId as Hex,
            blobId: r.blobId,
            categoryTag: r.categoryTag as Hex,
            salt: r.salt as Hex,
            stanzas: r.stanzas.map((s) => ({ reader: s.reader as Address, stanza: s.stanza })),
          })),
          publish: {
            root: body.publish.root as Hex,
            count: body.publish.count,
            nonce: BigInt(body.publish.nonce),
            deadline: BigInt(body.publish.deadline),
            signature: body.publish.signature as Hex,
          },
        }),
      ),
    );
    services.outbox.wake();
    return { status: 201, body: result };
  },
});
