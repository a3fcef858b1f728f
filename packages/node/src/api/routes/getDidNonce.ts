import { ethereumDidRegistryAbi, getIdentityOwner, X25519_ATTRIBUTE_NAME } from '@carekey/sdk/chain';
import { Type } from '@sinclair/typebox';
import { getAddress } from 'viem';
import { readContract } from 'viem/actions';
import { readRecoveryAccount } from '../../recovery/readRecovery.ts';
import { defineRoute } from '../defineRoute.ts';
import { readChain } from '../readChain.ts';
import { AddressSchema } from './schemas.ts';

/** What `GET /v1/did/{address}/nonce` answers: the inputs of a `setAttributeSigned` signature. */
export const DidNonce = Type.Object(
  {
    identity: AddressSchema,
    owner: AddressSchema,
    nonce: Type.String({ pattern: '^[0-9]+$', description: 'the registry nonce of the owner (decimal)' }),
    didRegistry: AddressSchema,
    attributeName: Type.String({ description: 'bytes32 name of the X25519 attribute' }),
    account: Type.Optional(
      Type.Object(
        {
          address: AddressSchema,
          controller: AddressSchema,
          nonce: Type.String({ pattern: '^[0-9]+$', description: 'the account’s `executeSigned` nonce' }),
        },
        {
          additionalProperties: false,
          description:
            'present when the owner is the identity’s RecoveryAccount: its controller signs an Execute instead (POST /v1/did/changes)',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/did/{address}/nonce`: what an identity's owner needs to sign its X25519 attribute. Public. */
export const getDidNonce = defineRoute({
  operationId: 'getDidNonce',
  method: 'GET',
  path: '/v1/did/{address}/nonce',
  summary: 'Owner, registry nonce and attribute name to sign setAttributeSigned',
  tags: ['identity'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  responses: { 200: { description: 'signing inputs', schema: DidNonce } },
  handler: async ({ params, services }) => {
    const identity = getAddress(params.address.toLowerCase());
    const { client, deployment } = services.chain;
    const didRegistry = deployment.contracts.didRegistry.address;
    const { owner, nonce } = await readChain(async () => {
      const owner = await getIdentityOwner({ client, didRegistry, identity });
      const nonce = await readContract(client, {
        abi: ethereumDidRegistryAbi,
        address: didRegistry,
        functionName: 'nonce',
        args: [owner],
      });
      return { owner, nonce };
    });
    const account = await readRecoveryAccount(services, owner);
    return {
      status: 200,
      body: {
        identity,
        owner,
        nonce: nonce.toString(),
        didRegistry,
        attributeName: X25519_ATTRIBUTE_NAME,
        ...(account === undefined ? {} : { account: { ...account, nonce: account.nonce.toString() } }),
      },
    };
  },
});
