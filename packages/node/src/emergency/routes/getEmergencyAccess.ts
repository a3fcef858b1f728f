import { Type } from '@sinclair/typebox';
import type { Hex } from 'viem';
import { defineRoute } from '../../api/defineRoute.ts';
import { Bytes32Schema } from '../../api/routes/vaultSchemas.ts';
import { readEmergencyAccess } from '../readEmergencyAccess.ts';
import { EmergencyAccessAnswer } from './postEmergencyAccess.ts';

/** `GET /v1/emergency/access/{accessId}`: the clinician reads its open break-glass again, until it expires. */
export const getEmergencyAccess = defineRoute({
  operationId: 'getEmergencyAccess',
  method: 'GET',
  path: '/v1/emergency/access/{accessId}',
  summary: 'Re-read an open break-glass (its clinician only, until it expires; logged)',
  tags: ['emergency'],
  auth: 'node-request',
  params: Type.Object({ accessId: Bytes32Schema }, { additionalProperties: false }),
  responses: {
    200: { description: 'the keys re-wrapped to the clinician', schema: EmergencyAccessAnswer },
    403: { description: 'access-expired, credential-refused, policy-off' },
    404: { description: 'unknown-access' },
  },
  handler: async ({ params, identity, services }) => ({
    status: 200,
    body: await readEmergencyAccess({
      services,
      accessId: params.accessId.toLowerCase() as Hex,
      clinician: identity,
    }),
  }),
});
