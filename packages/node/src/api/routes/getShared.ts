import { Type } from '@sinclair/typebox';
import { listShared } from '../../vault/listShared.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';

/** Answer of `GET /v1/shared`. */
export const SharedList = Type.Object(
  {
    records: Type.Array(
      Type.Object({
        grantId: Type.String(),
        patient: Type.String(),
        recordId: Type.String(),
        blobId: Type.String(),
        categoryTag: Type.String(),
      }),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/shared`: records covered by active grants to the signer (as grantee). Releases nothing. */
export const getShared = defineRoute({
  operationId: 'getShared',
  method: 'GET',
  path: '/v1/shared',
  summary: 'List records shared with me (as grantee)',
  tags: ['vault'],
  auth: 'node-request',
  responses: { 200: { description: 'the records and the grant to name', schema: SharedList } },
  handler: async ({ identity, services }) => ({
    status: 200,
    body: { records: await vaultCall(() => listShared({ vault: services.vault, grantee: identity })) },
  }),
});
