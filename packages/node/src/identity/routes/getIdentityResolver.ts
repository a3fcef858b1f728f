import { Type } from '@sinclair/typebox';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The chain RPC URL DID resolvers may use: `CAREKEY_PUBLIC_RPC_URL` if the operator set one, else the node's own
 * endpoint only when it is a loopback one (the embedded chain); never an external provider URL, which may carry
 * an API key.
 */
function publicRpcUrl(transportUrl: unknown): string | null {
  const configured = process.env.CAREKEY_PUBLIC_RPC_URL;
  if (configured !== undefined && configured !== '') return configured;
  if (typeof transportUrl !== 'string') return null;
  try {
    return LOOPBACK.has(new URL(transportUrl).hostname) ? transportUrl : null;
  } catch {
    return null;
  }
}

/** `GET /v1/identity/resolver`: what a `did:ethr` resolver needs for this node's chain (ethr-did-resolver config). */
export const getIdentityResolver = defineRoute({
  operationId: 'getIdentityResolver',
  method: 'GET',
  path: '/v1/identity/resolver',
  summary: 'Chain id, DID registry, TrustedIssuers and a public RPC URL to resolve did:ethr on this chain',
  tags: ['identity'],
  auth: 'public',
  responses: {
    200: {
      description: 'resolver configuration',
      schema: Type.Object(
        {
          chainId: Type.Integer(),
          didRegistry: AddressSchema,
          trustedIssuers: AddressSchema,
          rpcUrl: Type.Union([Type.String(), Type.Null()], {
            description: 'null: use your own RPC endpoint',
          }),
        },
        { additionalProperties: false },
      ),
    },
  },
  handler: async ({ services }) => {
    const { client, deployment, chainId } = services.chain;
    return {
      status: 200,
      body: {
        chainId,
        didRegistry: deployment.contracts.didRegistry.address,
        trustedIssuers: deployment.contracts.trustedIssuers.address,
        rpcUrl: publicRpcUrl((client.transport as { url?: unknown }).url),
      },
    };
  },
});
