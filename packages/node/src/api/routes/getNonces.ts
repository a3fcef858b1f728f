import { Type } from '@sinclair/typebox';
import { getAddress } from 'viem';
import { nextSignatureNonce } from '../../vault/nextSignatureNonce.ts';
import { defineRoute } from '../defineRoute.ts';
import { AddressSchema } from './schemas.ts';
import { vaultCall } from './vaultCall.ts';

/** What `GET /v1/nonces/{address}` answers. */
export const NonceAnswer = Type.Object(
  {
    identity: AddressSchema,
    contract: Type.Union([Type.Literal('ConsentRegistry'), Type.Literal('RecordRegistry')]),
    address: AddressSchema,
    nonce: Type.String({ pattern: '^[0-9]+$', description: 'the nonce to sign next (decimal)' }),
    chainNonce: Type.String({ pattern: '^[0-9]+$', description: '`nonces(identity)` at the head (decimal)' }),
    queued: Type.Integer({ description: 'signed writes of the identity this node has not seen mined yet' }),
    block: Type.String({ pattern: '^[0-9]+$' }),
  },
  { additionalProperties: false },
);

/**
 * `GET /v1/nonces/{address}?contract=ConsentRegistry|RecordRegistry`: the EIP-712 nonce the identity's next relayed
 * signature must carry on that contract — the chain's `nonces(identity)`, moved past the identity's signed writes
 * still queued in this node. Public: nonces are public on chain.
 */
export const getNonces = defineRoute({
  operationId: 'getNonces',
  method: 'GET',
  path: '/v1/nonces/{address}',
  summary: 'The nonce to sign next for a relayed ConsentRegistry or RecordRegistry message',
  tags: ['identity'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  query: Type.Object(
    { contract: Type.Union([Type.Literal('ConsentRegistry'), Type.Literal('RecordRegistry')]) },
    { additionalProperties: false },
  ),
  responses: { 200: { description: 'the next nonce', schema: NonceAnswer } },
  handler: async ({ params, query, services }) => {
    const identity = getAddress(params.address.toLowerCase());
    const result = await vaultCall(() =>
      nextSignatureNonce({ vault: services.vault, contract: query.contract, identity }),
    );
    const { contracts } = services.vault.chain;
    return {
      status: 200,
      body: {
        identity,
        contract: query.contract,
        address: query.contract === 'ConsentRegistry' ? contracts.consentRegistry : contracts.recordRegistry,
        nonce: result.nonce.toString(),
        chainNonce: result.chainNonce.toString(),
        queued: result.queued,
        block: result.blockNumber.toString(),
      },
    };
  },
});
