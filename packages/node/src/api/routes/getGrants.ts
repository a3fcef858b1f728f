import { Type } from '@sinclair/typebox';
import { listGrants } from '../../vault/listGrants.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';

/** Answer of `GET /v1/grants`. */
export const GrantList = Type.Object(
  {
    block: Type.String(),
    grants: Type.Array(
      Type.Object({
        grantId: Type.String(),
        role: Type.String(),
        state: Type.String(),
        patient: Type.String(),
        grantee: Type.String(),
        scopeKind: Type.Integer(),
        scopeData: Type.Array(Type.String()),
        purpose: Type.String(),
        createdAt: Type.String(),
        expiresAt: Type.String(),
        grantDigest: Type.Optional(Type.String()),
      }),
    ),
    queued: Type.Array(
      Type.Object(
        {
          grantDigest: Type.String(),
          patient: Type.String(),
          grantee: Type.String(),
          state: Type.String({ description: 'queued (in the outbox) or failed (refused by the chain)' }),
          scopeKind: Type.Optional(Type.Integer()),
          scopeData: Type.Optional(Type.Array(Type.String())),
          expiresAt: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      { description: 'grants relayed by this node the chain does not have yet' },
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/grants`: grants where the signer is the patient or the grantee, with their state at the head. */
export const getGrants = defineRoute({
  operationId: 'getGrants',
  method: 'GET',
  path: '/v1/grants',
  summary: 'List grants where I am patient or grantee',
  tags: ['vault'],
  auth: 'node-request',
  responses: { 200: { description: 'the grants, as of `block`', schema: GrantList } },
  handler: async ({ identity, services }) => {
    const { head, grants, queued } = await vaultCall(() => listGrants({ vault: services.vault, identity }));
    return {
      status: 200,
      body: {
        block: String(head.number),
        grants: grants.map((g) => ({
          grantId: g.grantId,
          role: g.role,
          state: g.state,
          patient: g.patient,
          grantee: g.grantee,
          scopeKind: g.scopeKind,
          scopeData: [...g.scopeData],
          purpose: g.purpose,
          createdAt: String(g.createdAt),
          expiresAt: String(g.expiresAt),
          ...(g.grantDigest === undefined ? {} : { grantDigest: g.grantDigest }),
        })),
        queued: queued.map((q) => ({
          ...q,
          ...(q.expiresAt === undefined ? {} : { expiresAt: String(q.expiresAt) }),
        })),
      },
    };
  },
});
