import { Type } from '@sinclair/typebox';
import type { Address, Hex } from 'viem';
import { MAX_TAGS, tagRecords } from '../../vault/tagRecords.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, StanzaSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/records/tags`. */
export const TagSubmission = Type.Object(
  {
    tags: Type.Array(
      Type.Object({ recordId: Bytes32Schema, categoryTag: Bytes32Schema }, { additionalProperties: false }),
      { minItems: 1, maxItems: MAX_TAGS },
    ),
    stanzas: Type.Optional(
      Type.Array(
        Type.Object(
          { recordId: Bytes32Schema, reader: AddressSchema, stanza: StanzaSchema },
          { additionalProperties: false },
        ),
        {
          maxItems: 5000,
          description: 'file keys wrapped to grantees whose active grant now covers the records',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/records/tags`. */
export const TagReceipt = Type.Object(
  { tagged: Type.Array(Type.String()), unchanged: Type.Array(Type.String()), stanzas: Type.Integer() },
  { additionalProperties: false },
);

/**
 * `POST /v1/records/tags`: the patient tags records a provider published for it untagged. The signed NodeRequest
 * (its body hash binds the tags) is the patient's assignment and is kept beside each tag; the on-chain leaf keeps
 * tag zero (docs/protocol.md "Records").
 */
export const postRecordTags = defineRoute({
  operationId: 'postRecordTags',
  method: 'POST',
  path: '/v1/records/tags',
  summary: 'Tag my untagged records (published for me by a provider)',
  tags: ['vault'],
  auth: 'node-request',
  body: TagSubmission,
  responses: { 200: { description: 'tagged', schema: TagReceipt } },
  handler: async ({ body, identity, headers, services }) => {
    const auth = headers['carekey-auth'];
    const result = await vaultCall(() =>
      tagRecords({
        vault: services.vault,
        identity,
        tags: body.tags.map((t) => ({ recordId: t.recordId as Hex, categoryTag: t.categoryTag as Hex })),
        authorization: typeof auth === 'string' ? auth : '',
        stanzas: body.stanzas?.map((st) => ({
          recordId: st.recordId as Hex,
          reader: st.reader as Address,
          stanza: st.stanza,
        })),
      }),
    );
    return { status: 200, body: result };
  },
});
