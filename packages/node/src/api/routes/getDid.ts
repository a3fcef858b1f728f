import { getEncryptionKey, getIdentityOwner } from '@carekey/sdk/chain';
import { X25519Recipient } from '@carekey/sdk/crypto';
import { Type } from '@sinclair/typebox';
import { type Address, getAddress } from 'viem';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { readChain } from '../readChain.ts';
import { AddressSchema } from './schemas.ts';

/** What `GET /v1/did/{address}` answers. */
export const DidDescription = Type.Object(
  {
    identity: AddressSchema,
    did: Type.String({ description: '`did:ethr:<chainIdHex>:<address>`' }),
    owner: Type.String({
      description: 'identityOwner(identity) at the chain head: the key that signs for it',
    }),
    recipient: Type.String({
      description: 'the X25519 key as an age recipient (`age1…`): wrap file keys to it',
    }),
  },
  { additionalProperties: false },
);

/** `GET /v1/did/{address}`: the identity's owner and its published X25519 recipient; 404 if it has none. */
export const getDid = defineRoute({
  operationId: 'getDid',
  method: 'GET',
  path: '/v1/did/{address}',
  summary: 'Identity owner and X25519 recipient (age1…) from the DID registry',
  tags: ['identity'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  responses: {
    200: { description: 'the identity', schema: DidDescription },
    404: { description: 'the identity has published no valid X25519 key (problem+json `no-encryption-key`)' },
  },
  handler: async ({ params, services }) => {
    const identity: Address = getAddress(params.address.toLowerCase());
    const { client, deployment, chainId } = services.chain;
    const didRegistry = deployment.contracts.didRegistry.address;
    const [owner, key] = await readChain(() =>
      Promise.all([
        getIdentityOwner({ client, didRegistry, identity }),
        getEncryptionKey({ client, didRegistry, identity, fromBlock: BigInt(deployment.deployBlock) }),
      ]),
    );
    if (key === undefined) {
      throw new ApiError({
        status: 404,
        code: 'no-encryption-key',
        detail: 'this identity has published no valid X25519 key (POST /v1/did/attributes)',
      });
    }
    return {
      status: 200,
      body: {
        identity,
        did: `did:ethr:0x${chainId.toString(16)}:${identity}`,
        owner,
        recipient: new X25519Recipient(key).toString(),
      },
    };
  },
});
