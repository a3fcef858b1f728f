import { trustedIssuersAbi } from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import { bytesToHex, getAddress, isAddressEqual } from 'viem';
import { readContract } from 'viem/actions';
import { ApiError } from '../../api/ApiError.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { readChain } from '../../api/readChain.ts';

const Review = Type.Object(
  {
    at: Type.String(),
    outcome: Type.Union([Type.Literal('allowed'), Type.Literal('denied')]),
    code: Type.Union([Type.String(), Type.Null()]),
    clinician: Type.String(),
    patient: Type.String(),
    accessId: Type.Union([Type.String(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    usesInWindow: Type.Integer(),
    flagged: Type.Boolean(),
  },
  { additionalProperties: false },
);

/**
 * `GET /v1/emergency/reviews[?flagged=1]`: every break-glass use and refusal on this node, newest first, for the
 * post-hoc review (T-16): a use is flagged once its clinician's uses in the window reach the threshold, and every
 * rate-limited refusal is flagged. Readable only by a TrustedIssuers governor (the body that decides who is
 * trusted also reviews how the trust was used), with a signed request.
 */
export const getEmergencyReviews = defineRoute({
  operationId: 'getEmergencyReviews',
  method: 'GET',
  path: '/v1/emergency/reviews',
  summary: 'Every break-glass use and refusal, flagged for review (TrustedIssuers governors only)',
  tags: ['emergency'],
  auth: 'node-request',
  query: Type.Object(
    {
      flagged: Type.Optional(Type.Literal('1')),
      limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
    },
    { additionalProperties: false },
  ),
  responses: {
    200: {
      description: 'newest first',
      schema: Type.Object({ reviews: Type.Array(Review) }, { additionalProperties: false }),
    },
    403: { description: 'not-reviewer' },
  },
  handler: async ({ query, identity, services }) => {
    const governors = await readChain(() =>
      readContract(services.chain.client, {
        abi: trustedIssuersAbi,
        address: services.chain.deployment.contracts.trustedIssuers.address,
        functionName: 'governors',
      }),
    );
    if (!governors.some((g) => isAddressEqual(g, identity))) {
      throw new ApiError({
        status: 403,
        code: 'not-reviewer',
        detail: 'only a TrustedIssuers governor reads the break-glass review list',
      });
    }
    const limit = Math.min(Number(query.limit ?? '500'), 500);
    const { rows } = await services.sql.query<{
      at: Date;
      outcome: 'allowed' | 'denied';
      code: string | null;
      clinician: Uint8Array;
      patient: Uint8Array;
      access_id: Uint8Array | null;
      reason: string | null;
      uses: number;
      flagged: boolean;
    }>(
      `select * from (
         select at, 'allowed' as outcome, null as code, clinician, patient, access_id, reason,
                uses_in_window as uses, flagged from emergency_accesses
         union all
         select l.at, 'denied', l.reason, l.actor, l.patient, null, null,
                (select count(*)::int from emergency_accesses e
                  where e.clinician = l.actor and e.at <= l.at and e.at > l.at - ($1::text || ' seconds')::interval),
                l.reason = 'emergency-rate-limited'
           from access_log l where l.action = 'break_glass' and l.outcome = 'denied'
       ) r where ($2::boolean is not true or r.flagged) order by at desc limit $3`,
      [String(services.emergency?.settings.windowSeconds ?? 86_400), query.flagged === '1', limit],
    );
    return {
      status: 200,
      body: {
        reviews: rows.map((r) => ({
          at: new Date(r.at).toISOString(),
          outcome: r.outcome,
          code: r.code,
          clinician: getAddress(bytesToHex(r.clinician)),
          patient: getAddress(bytesToHex(r.patient)),
          accessId: r.access_id === null ? null : bytesToHex(r.access_id),
          reason: r.reason,
          usesInWindow: Number(r.uses),
          flagged: r.flagged,
        })),
      },
    };
  },
});
