import { Type } from '@sinclair/typebox';
import { listRecords } from '../../vault/listRecords.ts';
import { defineRoute } from '../defineRoute.ts';

/** Answer of `GET /v1/records`. */
export const RecordList = Type.Object(
  {
    records: Type.Array(
      Type.Object({
        recordId: Type.String(),
        blobId: Type.String(),
        publisher: Type.String(),
        state: Type.String(),
        categoryTag: Type.String(),
        batchRoot: Type.Union([Type.String(), Type.Null()]),
        batchId: Type.Union([Type.String(), Type.Null()]),
        createdAt: Type.String(),
      }),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/records`: the signer's own records (as patient), with state, publisher, blob id and batch. */
export const getRecords = defineRoute({
  operationId: 'getRecords',
  method: 'GET',
  path: '/v1/records',
  summary: 'List my records (as patient)',
  tags: ['vault'],
  auth: 'node-request',
  responses: { 200: { description: 'the records', schema: RecordList } },
  handler: async ({ identity, services }) => ({
    status: 200,
    body: { records: await listRecords({ vault: services.vault, patient: identity }) },
  }),
});
