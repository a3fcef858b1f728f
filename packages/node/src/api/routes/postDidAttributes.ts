import {
  ethereumDidRegistryAbi,
  getIdentityOwner,
  writeContractAndWait,
  X25519_ATTRIBUTE_NAME,
} from '@carekey/sdk/chain';
import { X25519Recipient } from '@carekey/sdk/crypto';
import { Type } from '@sinclair/typebox';
import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  isAddressEqual,
  parseSignature,
  recoverAddress,
} from 'viem';
import { readContract } from 'viem/actions';
import { ApiError } from '../ApiError.ts';
import type { ApiServices } from '../ApiServices.ts';
import { defineRoute } from '../defineRoute.ts';
import { didAttributeHash } from '../didAttributeHash.ts';
import { readChain } from '../readChain.ts';
import { AddressSchema } from './schemas.ts';

/** Body of `POST /v1/did/attributes`. */
export const DidAttributeRequest = Type.Object(
  {
    identity: AddressSchema,
    recipient: Type.String({ maxLength: 100, description: 'the X25519 key as an age recipient (`age1…`)' }),
    validity: Type.String({
      pattern: '^[1-9][0-9]{0,10}$',
      description: 'seconds the key stays valid (decimal)',
    }),
    signature: Type.String({
      pattern: '^0x[0-9a-fA-F]{130}$',
      description: "65-byte signature by the identity's owner of `didAttributeHash` (raw, no EIP-191 prefix)",
    }),
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/did/attributes`: the mined transaction. */
export const DidAttributeReceipt = Type.Object(
  {
    transactionHash: Type.String(),
    blockNumber: Type.String({ pattern: '^[0-9]+$' }),
  },
  { additionalProperties: false },
);

type Body = { identity: string; recipient: string; validity: string; signature: string };

function attributeValue(recipient: string): Hex {
  try {
    return bytesToHex(new X25519Recipient(recipient).publicKey);
  } catch {
    throw new ApiError({
      status: 400,
      code: 'invalid-recipient',
      detail: 'recipient must be an X25519 age recipient (age1…)',
    });
  }
}

async function verifyAttributeSignature({
  body,
  services,
}: {
  body: Body;
  services: ApiServices;
}): Promise<Address> {
  const identity = getAddress(body.identity.toLowerCase());
  const value = attributeValue(body.recipient);
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
  const hash = didAttributeHash({
    didRegistry,
    nonce,
    identity,
    name: X25519_ATTRIBUTE_NAME,
    value,
    validity: BigInt(body.validity),
  });
  let signer: Address;
  try {
    signer = await recoverAddress({ hash, signature: body.signature as Hex });
  } catch {
    throw new ApiError({ status: 401, code: 'bad-signature', detail: 'signature does not verify' });
  }
  if (!isAddressEqual(signer, owner)) {
    throw new ApiError({
      status: 403,
      code: 'not-owner',
      detail: 'not signed by the current owner of the identity for the current registry nonce',
    });
  }
  return identity;
}

/**
 * `POST /v1/did/attributes`: relays a `setAttributeSigned` publishing the identity's X25519 key
 * (`did/pub/X25519/enc/base64`). The owner signs `didAttributeHash` with the nonce from
 * `GET /v1/did/{address}/nonce`; the node checks the signature first (so it never pays gas for a forgery), then
 * sends the transaction from its relayer and answers once it is mined.
 */
export const postDidAttributes = defineRoute({
  operationId: 'postDidAttributes',
  method: 'POST',
  path: '/v1/did/attributes',
  summary: 'Relay setAttributeSigned: publish an X25519 key on the DID',
  tags: ['identity'],
  auth: 'signed-payload',
  body: DidAttributeRequest,
  responses: { 200: { description: 'the attribute is on chain', schema: DidAttributeReceipt } },
  verifyPayload: verifyAttributeSignature,
  handler: async ({ body, identity, services }) => {
    const { sigV, sigR, sigS } = toVrs(body.signature as Hex);
    const { hash, receipt } = await writeContractAndWait({
      client: services.chain.client,
      abi: ethereumDidRegistryAbi,
      address: services.chain.deployment.contracts.didRegistry.address,
      contractName: 'EthereumDIDRegistry',
      functionName: 'setAttributeSigned',
      args: [
        identity,
        sigV,
        sigR,
        sigS,
        X25519_ATTRIBUTE_NAME,
        attributeValue(body.recipient),
        BigInt(body.validity),
      ],
    });
    return { status: 200, body: { transactionHash: hash, blockNumber: receipt.blockNumber.toString() } };
  },
});

function toVrs(signature: Hex): { sigV: number; sigR: Hex; sigS: Hex } {
  const { r, s, v, yParity } = parseSignature(signature);
  return { sigV: Number(v ?? BigInt(yParity + 27)), sigR: r, sigS: s };
}
