import { type Static, Type } from '@sinclair/typebox';
import { bytesToHex, getAddress, hexToBytes } from 'viem';
import { defineRoute } from '../../api/defineRoute.ts';

const EmergencyNotification = Type.Object(
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

const RecoveryNotification = Type.Object(
  {
    id: Type.String(),
    at: Type.String(),
    kind: Type.Union([
      Type.Literal('recovery-started'),
      Type.Literal('recovery-approved'),
      Type.Literal('recovery-ready'),
      Type.Literal('recovery-cancelled'),
      Type.Literal('recovery-finished'),
    ]),
    patient: Type.String(),
    role: Type.Union([Type.Literal('patient'), Type.Literal('guardian')]),
    event: Type.Object(
      {
        identity: Type.String(),
        guardian: Type.Optional(Type.String()),
        newController: Type.Optional(Type.String()),
        previousController: Type.Optional(Type.String()),
        round: Type.Optional(Type.String()),
        approvals: Type.Optional(Type.Integer()),
        threshold: Type.Optional(Type.Integer()),
        readyAt: Type.Optional(Type.String()),
        blockNumber: Type.String(),
        transactionHash: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/**
 * `GET /v1/notifications[?after=<id>]`: the signer's in-app feed — every break-glass on its records and every
 * recovery event of its identity (a guardian's approval, the delay started, a cancellation, the key replaced),
 * and, for a guardian, the same for the patients whose guardian it is. Only the owner reads it (signed request). Oldest first.
 */
export const getNotifications = defineRoute({
  operationId: 'getNotifications',
  method: 'GET',
  path: '/v1/notifications',
  summary:
    "The signer's notifications (break-glass and recovery events, its own or a patient's it is guardian of)",
  tags: ['notifications'],
  auth: 'node-request',
  query: Type.Object(
    { after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })) },
    { additionalProperties: false },
  ),
  responses: {
    200: {
      description: 'oldest first',
      schema: Type.Object(
        { notifications: Type.Array(Type.Union([EmergencyNotification, RecoveryNotification])) },
        { additionalProperties: false },
      ),
    },
  },
  handler: async ({ query, identity, services }) => {
    const { rows } = await services.sql.query<{
      id: string;
      at: Date;
      kind: string;
      role: 'patient' | 'guardian';
      patient: Uint8Array;
      event: Record<string, unknown> | string | null;
      access_id: Uint8Array | null;
      clinician: Uint8Array | null;
      claims: Record<string, string> | string | null;
      issuer_name: string | null;
      reason: string | null;
      scope: 'summary' | 'all' | null;
      expires_at: Date | null;
    }>(
      `select n.id::text as id, n.at, n.kind, n.role, n.patient, n.event, n.access_id, a.clinician, a.claims,
              a.issuer_name, a.reason, a.scope, a.expires_at
         from notifications n left join emergency_accesses a on a.access_id = n.access_id
        where n.recipient = $1 and n.id > $2 order by n.id limit 500`,
      [hexToBytes(identity), query.after ?? '0'],
    );
    const notifications = rows.map((r) => {
      const common = {
        id: r.id,
        at: new Date(r.at).toISOString(),
        patient: getAddress(bytesToHex(r.patient)),
        role: r.role,
      };
      if (r.kind !== 'emergency-access') {
        return {
          ...common,
          kind: r.kind as Static<typeof RecoveryNotification>['kind'],
          event: (typeof r.event === 'string' ? JSON.parse(r.event) : r.event) as Static<
            typeof RecoveryNotification
          >['event'],
        };
      }
      return {
        ...common,
        kind: 'emergency-access' as const,
        accessId: bytesToHex(r.access_id as Uint8Array),
        clinician: getAddress(bytesToHex(r.clinician as Uint8Array)),
        clinicianClaims:
          typeof r.claims === 'string'
            ? (JSON.parse(r.claims) as Record<string, string>)
            : (r.claims as Record<string, string>),
        issuerName: r.issuer_name as string,
        reason: r.reason as string,
        scope: r.scope as 'summary' | 'all',
        expiresAt: new Date(r.expires_at as Date).toISOString(),
      };
    });
    return { status: 200, body: { notifications } };
  },
});
