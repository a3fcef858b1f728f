import { X25519_ATTRIBUTE_NAME } from '@carekey/sdk/chain';
import { Type } from '@sinclair/typebox';
import { getAddress } from 'viem';
import { nextDidNonce } from '../../recovery/nextDidNonce.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';

/** What `GET /v1/did/{address}/nonce` answers: the inputs of a `setAttributeSigned` signature. */
export const DidNonce = Type.Object(
  {
    identity: AddressSchema,
    owner: AddressSchema,
    nonce: Type.String({
      pattern: '^[0-9]+$',
      description:
        'the registry nonce the owner signs next (decimal): `nonce(owner)` moved past the DID writes still queued here',
    }),
    queued: Type.Integer({
      description: 'signed DID writes of the identity this node has not seen mined yet',
    }),
    didRegistry: AddressSchema,
    attributeName: Type.String({ description: 'bytes32 name of the X25519 attribute' }),
    account: Type.Optional(
      Type.Object(
        {
          address: AddressSchema,
          controller: AddressSchema,
          nonce: Type.String({
            pattern: '^[0-9]+$',
            description: 'the account’s next `executeSigned` nonce, past the queued ones',
          }),
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

/**
 * `GET /v1/did/{address}/nonce`: what the key acting for an identity signs into its next DID change (an attribute,
 * a delegate, a rotation), counting the identity's DID writes still queued in this node's outbox. Public.
 */
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
    const didRegistry = services.chain.deployment.contracts.didRegistry.address;
    const next = await nextDidNonce(services, identity);
    const account = next.account;
    return {
      status: 200,
      body: {
        identity,
        owner: next.owner,
        nonce: next.nonce.toString(),
        queued: next.queued,
        didRegistry,
        attributeName: X25519_ATTRIBUTE_NAME,
        ...(account === undefined
          ? {}
          : {
              account: {
                address: account.address,
                controller: account.controller,
                nonce: account.nonce.toString(),
              },
            }),
      },
    };
  },
});
