import { Type } from '@sinclair/typebox';
import type { Hex } from 'viem';
import { MAX_REWRAP_STANZAS, rewrapOwnStanzas } from '../../vault/rewrapOwnStanzas.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';
import { Bytes32Schema, StanzaSchema } from './vaultSchemas.ts';

/**
 * `PUT /v1/records/stanzas`: the patient replaces its own stanzas with ones wrapped to its new X25519 key (after
 * `carekey did rotate` or a stolen-phone recovery); the old ones are deleted in the same transaction.
 */
export const putOwnStanzas = defineRoute({
  operationId: 'putOwnStanzas',
  method: 'PUT',
  path: '/v1/records/stanzas',
  summary: 'Replace my own stanzas with ones wrapped to my new key (the old ones are deleted)',
  tags: ['vault'],
  auth: 'node-request',
  body: Type.Object(
    {
      stanzas: Type.Array(
        Type.Object({ recordId: Bytes32Schema, stanza: StanzaSchema }, { additionalProperties: false }),
        { minItems: 1, maxItems: MAX_REWRAP_STANZAS },
      ),
    },
    { additionalProperties: false },
  ),
  responses: {
    200: {
      description: 'replaced',
      schema: Type.Object({ replaced: Type.Integer() }, { additionalProperties: false }),
    },
    403: { description: 'a record that is not an active record of the caller' },
  },
  handler: async ({ body, identity, services }) => {
    const result = await vaultCall(() =>
      rewrapOwnStanzas({
        vault: services.vault,
        identity,
        stanzas: body.stanzas.map((s) => ({ recordId: s.recordId as Hex, stanza: s.stanza })),
      }),
    );
    return { status: 200, body: result };
  },
});
