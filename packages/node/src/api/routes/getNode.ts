import { Type } from '@sinclair/typebox';
import { defineRoute } from '../defineRoute.ts';

const Address = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });

/** What `GET /v1/node` answers: everything a client needs to sign requests for this node. */
export const NodeDescription = Type.Object(
  {
    version: Type.String({ description: 'node software version' }),
    chainId: Type.Integer({ description: 'EIP-155 chain id of the ledger (EIP-712 domain chainId)' }),
    audience: Type.String({ description: "this node's id: the `audience` of every signed request" }),
    contracts: Type.Object(
      {
        didRegistry: Address,
        recordRegistry: Address,
        consentRegistry: Address,
      },
      {
        additionalProperties: false,
        description: 'consentRegistry is the EIP-712 verifyingContract of node requests',
      },
    ),
    deployBlock: Type.Integer({ description: 'first block of the deployment (indexers start here)' }),
  },
  { additionalProperties: false },
);

/** `GET /v1/node`: chain id, audience, contract addresses, version. Public. */
export const getNode = defineRoute({
  operationId: 'getNode',
  method: 'GET',
  path: '/v1/node',
  summary: 'Describe this node: chain id, audience, contracts, version',
  tags: ['node'],
  auth: 'public',
  responses: { 200: { description: 'the node', schema: NodeDescription } },
  handler: async ({ services }) => {
    const { contracts, deployBlock } = services.chain.deployment;
    return {
      status: 200,
      body: {
        version: services.version,
        chainId: services.chain.chainId,
        audience: services.audience,
        contracts: {
          didRegistry: contracts.didRegistry.address,
          recordRegistry: contracts.recordRegistry.address,
          consentRegistry: contracts.consentRegistry.address,
        },
        deployBlock,
      },
    };
  },
});
