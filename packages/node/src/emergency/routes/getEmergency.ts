import { MAX_EMERGENCY_ACCESS_SECONDS } from '@carekey/sdk/emergency';
import { Type } from '@sinclair/typebox';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { needEmergency } from '../openEmergencyAccess.ts';

/** `GET /v1/emergency`: the node's emergency key (public half), the Emergency contract, limits. Public. */
export const getEmergency = defineRoute({
  operationId: 'getEmergency',
  method: 'GET',
  path: '/v1/emergency',
  summary: "The node's emergency key (age recipient), the Emergency contract and the break-glass limits",
  tags: ['emergency'],
  auth: 'public',
  responses: {
    200: {
      description: 'emergency access on this node',
      schema: Type.Object(
        {
          chainId: Type.Integer(),
          contract: AddressSchema,
          recipient: Type.String({ description: 'age X25519 recipient patients wrap their summary to' }),
          maxAccessSeconds: Type.Integer(),
          limits: Type.Object(
            { perClinician: Type.Integer(), windowSeconds: Type.Integer(), flagAfter: Type.Integer() },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
    },
    503: { description: 'no emergency key on this node' },
  },
  handler: async ({ services }) => {
    const emergency = needEmergency(services);
    const { perClinician, windowSeconds, flagAfter } = emergency.settings;
    return {
      status: 200,
      body: {
        chainId: services.chain.chainId,
        contract: emergency.contract,
        recipient: emergency.recipient,
        maxAccessSeconds: MAX_EMERGENCY_ACCESS_SECONDS,
        limits: { perClinician, windowSeconds, flagAfter },
      },
    };
  },
});
