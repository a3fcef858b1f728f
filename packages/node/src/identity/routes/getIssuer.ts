import { IssuerAction, trustedIssuersAbi } from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import { getAddress } from 'viem';
import { readContract } from 'viem/actions';
import { defineRoute } from '../../api/defineRoute.ts';
import { readChain } from '../../api/readChain.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';

/** What `GET /v1/issuers/{address}` answers. */
export const IssuerDescription = Type.Object(
  {
    issuer: AddressSchema,
    trusted: Type.Boolean(),
    epoch: Type.String({ description: 'changes applied so far: signed approvals name it' }),
    threshold: Type.Integer(),
    governors: Type.Array(AddressSchema),
    approvals: Type.Object({ add: Type.Integer(), remove: Type.Integer() }, { additionalProperties: false }),
    governorNonce: Type.Optional(
      Type.String({ description: "the governor's next approval nonce (with ?governor=)" }),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/issuers/{address}[?governor=0x…]`: the issuer's standing in `TrustedIssuers` at the head. */
export const getIssuer = defineRoute({
  operationId: 'getIssuer',
  method: 'GET',
  path: '/v1/issuers/{address}',
  summary: 'Whether an issuer is trusted, and the governance state to approve a change',
  tags: ['identity'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  query: Type.Object({ governor: Type.Optional(AddressSchema) }, { additionalProperties: false }),
  responses: { 200: { description: 'the issuer', schema: IssuerDescription } },
  handler: async ({ params, query, services }) => {
    const issuer = getAddress(params.address.toLowerCase());
    const { client, deployment } = services.chain;
    const address = deployment.contracts.trustedIssuers.address;
    const governor = query.governor === undefined ? undefined : getAddress(query.governor.toLowerCase());
    const [trusted, epoch, threshold, governors, add, remove, nonce] = await readChain(() =>
      Promise.all([
        readContract(client, { abi: trustedIssuersAbi, address, functionName: 'isTrusted', args: [issuer] }),
        readContract(client, { abi: trustedIssuersAbi, address, functionName: 'epoch', args: [issuer] }),
        readContract(client, { abi: trustedIssuersAbi, address, functionName: 'threshold' }),
        readContract(client, { abi: trustedIssuersAbi, address, functionName: 'governors' }),
        readContract(client, {
          abi: trustedIssuersAbi,
          address,
          functionName: 'approvals',
          args: [IssuerAction.Add, issuer],
        }),
        readContract(client, {
          abi: trustedIssuersAbi,
          address,
          functionName: 'approvals',
          args: [IssuerAction.Remove, issuer],
        }),
        governor === undefined
          ? Promise.resolve(undefined)
          : readContract(client, {
              abi: trustedIssuersAbi,
              address,
              functionName: 'nonces',
              args: [governor],
            }),
      ]),
    );
    return {
      status: 200,
      body: {
        issuer,
        trusted,
        epoch: epoch.toString(),
        threshold: Number(threshold),
        governors: [...governors],
        approvals: { add: Number(add), remove: Number(remove) },
        ...(nonce === undefined ? {} : { governorNonce: nonce.toString() }),
      },
    };
  },
});
