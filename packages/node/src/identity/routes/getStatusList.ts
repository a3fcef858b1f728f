import { Readable } from 'node:stream';
import { STATUS_LIST_MEDIA_TYPE } from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import { getAddress } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { readStatusList } from '../statusListStore.ts';

/** `GET /v1/status-lists/{issuer}/{listId}`: the issuer's latest Token Status List JWT (`application/statuslist+jwt`). */
export const getStatusList = defineRoute({
  operationId: 'getStatusList',
  method: 'GET',
  path: '/v1/status-lists/{issuer}/{listId}',
  summary: "An issuer's Token Status List (IETF draft-ietf-oauth-status-list)",
  tags: ['identity'],
  auth: 'public',
  params: Type.Object(
    { issuer: AddressSchema, listId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) },
    { additionalProperties: false },
  ),
  responses: {
    200: { description: 'the signed list', contentType: STATUS_LIST_MEDIA_TYPE },
    404: { description: 'not published here (problem `no-status-list`)' },
  },
  handler: async ({ params, services }) => {
    const stored = await readStatusList(services.sql, getAddress(params.issuer.toLowerCase()), params.listId);
    if (stored === undefined) {
      throw new ApiError({
        status: 404,
        code: 'no-status-list',
        detail: 'this status list is not published on this node',
      });
    }
    return {
      status: 200,
      stream: Readable.from([Buffer.from(stored.jwt)]),
      contentType: STATUS_LIST_MEDIA_TYPE,
    };
  },
});
