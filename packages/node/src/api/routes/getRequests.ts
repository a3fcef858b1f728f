import { Type } from '@sinclair/typebox';
import { listAccessRequests } from '../../vault/listAccessRequests.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';

const Nullable = <schema extends ReturnType<typeof Type.String>>(schema: schema) =>
  Type.Union([schema, Type.Null()]);

/** Answer of `GET /v1/requests`. */
export const AccessRequestList = Type.Object(
  {
    block: Type.String(),
    requests: Type.Array(
      Type.Object(
        {
          requestId: Nullable(Type.String()),
          requestDigest: Nullable(Type.String()),
          role: Type.String(),
          status: Type.String({
            description: 'queued | failed | pending | approved | denied | expired (pending past expiresAt)',
          }),
          patient: Type.String(),
          requester: Type.String(),
          scope: Type.String(),
          scopeData: Type.Array(Type.String()),
          purpose: Type.String(),
          expiresAt: Nullable(Type.String()),
          grantId: Nullable(Type.String()),
          sealed: Nullable(Type.String({ description: 'base64 age file for the patient' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/requests`: access requests addressed to the signer (as patient) or filed by it (as requester). */
export const getRequests = defineRoute({
  operationId: 'getRequests',
  method: 'GET',
  path: '/v1/requests',
  summary: 'List access requests to me or from me',
  tags: ['requests'],
  auth: 'node-request',
  responses: { 200: { description: 'the requests, as of `block`', schema: AccessRequestList } },
  handler: async ({ identity, services }) => {
    const { block, requests } = await vaultCall(() =>
      listAccessRequests({ vault: services.vault, identity }),
    );
    return {
      status: 200,
      body: {
        block: String(block),
        requests: requests.map((r) => ({
          requestId: r.requestId ?? null,
          requestDigest: r.requestDigest ?? null,
          role: r.role,
          status: r.status,
          patient: r.patient,
          requester: r.requester,
          scope: r.scope,
          scopeData: r.scopeData,
          purpose: r.purpose,
          expiresAt: r.expiresAt === undefined ? null : String(r.expiresAt),
          grantId: r.grantId ?? null,
          sealed: r.sealed === undefined ? null : Buffer.from(r.sealed).toString('base64'),
        })),
      },
    };
  },
});
