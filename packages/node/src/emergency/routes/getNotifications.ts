import { Type } from '@sinclair/typebox';
import { bytesToHex, getAddress, hexToBytes } from 'viem';
import { defineRoute } from '../../api/defineRoute.ts';

const NotificationSchema = Type.Object(
  {
    id: Type.String(),
    at: Type.String(),
    kind: Type.Literal('emergency-access'),
    patient: Type.String(),
    role: Type.Union([Type.Literal('patient'), Type.Literal('guardian')]),
    accessId: Type.String(),
    clinician: Type.String(),
    clinicianClaims: Type.Record(Type.String(), Type.String()),
    issuerName: Type.String(),
    reason: Type.String(),
    scope: Type.Union([Type.Literal('summary'), Type.Literal('all')]),
    expiresAt: Type.String(),
  },
  { additionalProperties: false },
);

/**
 * `GET /v1/notifications[?after=<id>]`: the signer's in-app feed — every break-glass on its records, and, for a
 * guardian, on the records of the patients that named it. Only the owner reads it (signed request). Oldest first.
 */
export const getNotifications = defineRoute({
  operationId: 'getNotifications',
  method: 'GET',
  path: '/v1/notifications',
  summary: "The signer's notifications (break-glass on its records, or on a patient it is guardian of)",
  tags: ['notifications'],
  auth: 'node-request',
  query: Type.Object(
    { after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })) },
    { additionalProperties: false },
  ),
  responses: {
    200: {
      description: 'oldest first',
      schema: Type.Object({ notifications: Type.Array(NotificationSchema) }, { additionalProperties: false }),
    },
  },
  handler: async ({ query, identity, services }) => {
    const { rows } = await services.sql.query<{
      id: string;
      at: Date;
      role: 'patient' | 'guardian';
      patient: Uint8Array;
      access_id: Uint8Array;
      clinician: Uint8Array;
      claims: Record<string, string> | string;
      issuer_name: string;
      reason: string;
      scope: 'summary' | 'all';
      expires_at: Date;
    }>(
      `select n.id::text as id, n.at, n.role, n.patient, n.access_id, a.clinician, a.claims, a.issuer_name, a.reason,
              a.scope, a.expires_at
         from notifications n join emergency_accesses a on a.access_id = n.access_id
        where n.recipient = $1 and n.id > $2 order by n.id limit 500`,
      [hexToBytes(identity), query.after ?? '0'],
    );
    return {
      status: 200,
      body: {
        notifications: rows.map((r) => ({
          id: r.id,
          at: new Date(r.at).toISOString(),
          kind: 'emergency-access' as const,
          patient: getAddress(bytesToHex(r.patient)),
          role: r.role,
          accessId: bytesToHex(r.access_id),
          clinician: getAddress(bytesToHex(r.clinician)),
          clinicianClaims:
            typeof r.claims === 'string' ? (JSON.parse(r.claims) as Record<string, string>) : r.claims,
          issuerName: r.issuer_name,
          reason: r.reason,
          scope: r.scope,
          expiresAt: new Date(r.expires_at).toISOString(),
        })),
      },
    };
  },
});
