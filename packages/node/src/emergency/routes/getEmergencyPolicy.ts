import { Type } from '@sinclair/typebox';
import { bytesToHex, getAddress, hexToBytes } from 'viem';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { readPolicy } from '../readPolicy.ts';

export const PolicyName = Type.Union([Type.Literal('off'), Type.Literal('summary'), Type.Literal('all')]);

/**
 * `GET /v1/emergency/policies/{address}`: the patient's policy (public on chain), the nonce to sign next, and
 * whether this node holds its emergency summary (record id only) and how many other emergency stanzas. Public.
 */
export const getEmergencyPolicy = defineRoute({
  operationId: 'getEmergencyPolicy',
  method: 'GET',
  path: '/v1/emergency/policies/{address}',
  summary:
    "A patient's break-glass policy, its next PolicyChange nonce and its emergency summary's record id",
  tags: ['emergency'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  responses: {
    200: {
      description: 'the policy',
      schema: Type.Object(
        {
          patient: AddressSchema,
          policy: PolicyName,
          nonce: Type.String(),
          chainNonce: Type.String(),
          queued: Type.Integer(),
          summary: Type.Union([
            Type.Object(
              { recordId: Type.String(), updatedAt: Type.String() },
              { additionalProperties: false },
            ),
            Type.Null(),
          ]),
          records: Type.Integer({ description: 'other records wrapped to the emergency key (policy all)' }),
        },
        { additionalProperties: false },
      ),
    },
  },
  handler: async ({ params, services }) => {
    const patient = getAddress(params.address.toLowerCase());
    const state = await readPolicy(services, patient);
    const { rows } = await services.sql.query<{ record_id: Uint8Array; summary: boolean; updated_at: Date }>(
      'select record_id, summary, updated_at from emergency_stanzas where patient = $1',
      [hexToBytes(patient)],
    );
    const summary = rows.find((r) => r.summary);
    return {
      status: 200,
      body: {
        patient,
        policy: state.policy,
        nonce: state.nonce.toString(),
        chainNonce: state.chainNonce.toString(),
        queued: state.queued,
        summary:
          summary === undefined
            ? null
            : {
                recordId: bytesToHex(summary.record_id),
                updatedAt: new Date(summary.updated_at).toISOString(),
              },
        records: rows.filter((r) => !r.summary).length,
      },
    };
  },
});
