import { Type } from '@sinclair/typebox';
import type { Address } from 'viem';
import { readAudit } from '../../vault/readAudit.ts';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';

/** Answer of `GET /v1/audit`. */
export const AuditPage = Type.Object(
  {
    entries: Type.Array(
      Type.Object({
        id: Type.String(),
        at: Type.String(),
        actor: Type.String(),
        action: Type.String(),
        recordIds: Type.Array(Type.String()),
        grantId: Type.Union([Type.String(), Type.Null()]),
        outcome: Type.String(),
        reason: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    next: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

function toDate(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new ApiError({ status: 400, code: 'invalid-time', detail: `${field} must be an ISO 8601 time` });
  }
  return date;
}

/** `GET /v1/audit`: the signer's access history as patient (flow 6), filtered by time and actor, paginated. */
export const getAudit = defineRoute({
  operationId: 'getAudit',
  method: 'GET',
  path: '/v1/audit',
  summary: 'The access log of my records (as patient)',
  tags: ['vault'],
  auth: 'node-request',
  query: Type.Object(
    {
      from: Type.Optional(Type.String({ maxLength: 40 })),
      to: Type.Optional(Type.String({ maxLength: 40 })),
      actor: Type.Optional(AddressSchema),
      limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
      after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
    },
    { additionalProperties: false },
  ),
  responses: { 200: { description: 'one page, oldest first', schema: AuditPage } },
  handler: async ({ query, identity, services }) => ({
    status: 200,
    body: await vaultCall(() =>
      readAudit({
        vault: services.vault,
        patient: identity,
        from: toDate(query.from, 'from'),
        to: toDate(query.to, 'to'),
        actor: query.actor as Address | undefined,
        limit: query.limit === undefined ? undefined : Number(query.limit),
        after: query.after,
      }),
    ),
  }),
});
