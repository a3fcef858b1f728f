import { ethereumDidRegistryAbi, X25519_ATTRIBUTE_NAME } from '@carekey/sdk/chain';
import { X25519Recipient } from '@carekey/sdk/crypto';
import { Type } from '@sinclair/typebox';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  getAddress,
  type Hex,
  isAddressEqual,
  parseSignature,
  recoverAddress,
} from 'viem';
import { enqueueOutbox } from '../../outbox/enqueueOutbox.ts';
import { getOutboxEntry } from '../../outbox/getOutboxEntry.ts';
import { nextDidNonce } from '../../recovery/nextDidNonce.ts';
import { ApiError } from '../ApiError.ts';
import type { ApiServices } from '../ApiServices.ts';
import { defineRoute } from '../defineRoute.ts';
import { didAttributeHash } from '../didAttributeHash.ts';
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

/** How long `POST /v1/did/attributes` waits for the relayed transaction before answering 202. */
export const ATTRIBUTE_WAIT_MS = 20_000;

/** Answer of `POST /v1/did/attributes` while the write is still queued or unmined (202). */
export const DidAttributePending = Type.Object(
  {
    status: Type.Union([Type.Literal('pending'), Type.Literal('submitted')]),
    transactionHash: Type.Optional(Type.String()),
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
  const didRegistry = services.chain.deployment.contracts.didRegistry.address;
  // The nonce `GET /v1/did/{address}/nonce` answered: past the identity's DID writes still queued here.
  const { owner, nonce } = await nextDidNonce(services, identity);
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
      detail:
        'not signed by the current owner of the identity for its next registry nonce (GET /v1/did/{address}/nonce)',
    });
  }
  return identity;
}

/**
 * `POST /v1/did/attributes`: relays a `setAttributeSigned` publishing the identity's X25519 key
 * (`did/pub/X25519/enc/base64`). The owner signs `didAttributeHash` with the nonce from
 * `GET /v1/did/{address}/nonce`; the node checks the signature first (so it never pays gas for a forgery), then
 * queues the write in the durable outbox and answers 200 once it is mined (202 if that takes longer than
 * {@link ATTRIBUTE_WAIT_MS}: the write stays queued and will be sent).
 */
export const postDidAttributes = defineRoute({
  operationId: 'postDidAttributes',
  method: 'POST',
  path: '/v1/did/attributes',
  summary: 'Relay setAttributeSigned: publish an X25519 key on the DID',
  tags: ['identity'],
  auth: 'signed-payload',
  body: DidAttributeRequest,
  responses: {
    200: { description: 'the attribute is on chain', schema: DidAttributeReceipt },
    202: {
      description: 'queued in the outbox, not mined yet (it will be: retried, never doubled)',
      schema: DidAttributePending,
    },
  },
  verifyPayload: verifyAttributeSignature,
  handler: async ({ body, identity, services }) => {
    const { sigV, sigR, sigS } = toVrs(body.signature as Hex);
    const idempotencyKey = `EthereumDIDRegistry.setAttributeSigned:${body.signature.toLowerCase()}`;
    await enqueueOutbox({
      sql: services.sql,
      kind: 'EthereumDIDRegistry.setAttributeSigned',
      idempotencyKey,
      payload: {
        to: services.chain.deployment.contracts.didRegistry.address,
        data: encodeFunctionData({
          abi: ethereumDidRegistryAbi,
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
        }),
      },
    });
    services.outbox.wake();
    const deadline = Date.now() + ATTRIBUTE_WAIT_MS;
    for (;;) {
      const entry = await getOutboxEntry({ sql: services.sql, idempotencyKey });
      if (entry?.status === 'confirmed' && entry.txHash !== undefined && entry.blockNumber !== undefined) {
        return {
          status: 200,
          body: { transactionHash: entry.txHash, blockNumber: entry.blockNumber.toString() },
        };
      }
      if (entry?.status === 'failed') {
        throw new ApiError({
          status: 400,
          code: 'chain-refused',
          detail: 'the DID registry refused the attribute',
        });
      }
      if (entry === undefined || Date.now() > deadline) {
        return {
          status: 202,
          body: {
            status: entry?.status === 'submitted' ? 'submitted' : 'pending',
            ...(entry?.txHash !== undefined ? { transactionHash: entry.txHash } : {}),
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  },
});

function toVrs(signature: Hex): { sigV: number; sigR: Hex; sigS: Hex } {
  const { r, s, v, yParity } = parseSignature(signature);
  return { sigV: Number(v ?? BigInt(yParity + 27)), sigR: r, sigS: s };
}
