import { ethereumDidRegistryAbi, recoveryAccountAbi } from '@carekey/sdk/chain';
import { accountCall, type DidChange, didChangeHash, toAccountExecuteTypedData } from '@carekey/sdk/recovery';
import { type Static, Type } from '@sinclair/typebox';
import {
  type Abi,
  type Address,
  getAddress,
  type Hex,
  isAddressEqual,
  parseSignature,
  recoverAddress,
  recoverTypedDataAddress,
} from 'viem';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { nextDidNonce } from '../nextDidNonce.ts';
import { refuseAttempt, relayChainCall } from '../relayChainCall.ts';

const Decimal = Type.String({ pattern: '^(0|[1-9][0-9]{0,30})$' });
const Bytes32 = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' });

const Body = Type.Object(
  {
    identity: AddressSchema,
    change: Type.Union([
      Type.Object(
        { kind: Type.Literal('changeOwner'), newOwner: AddressSchema },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          kind: Type.Literal('addDelegate'),
          delegateType: Bytes32,
          delegate: AddressSchema,
          validity: Decimal,
        },
        { additionalProperties: false },
      ),
      Type.Object(
        { kind: Type.Literal('revokeDelegate'), delegateType: Bytes32, delegate: AddressSchema },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          kind: Type.Literal('setAttribute'),
          name: Bytes32,
          value: Type.String({ pattern: '^0x([0-9a-fA-F]{2}){0,512}$' }),
          validity: Decimal,
        },
        { additionalProperties: false },
      ),
    ]),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
    /** Present when the identity's owner is its `RecoveryAccount`: the controller signed an `Execute`. */
    account: Type.Optional(
      Type.Object({ nonce: Decimal, deadline: Decimal }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
type Body = Static<typeof Body>;

function toChange(body: Body): DidChange {
  const c = body.change;
  switch (c.kind) {
    case 'changeOwner':
      return { kind: 'changeOwner', newOwner: getAddress(c.newOwner.toLowerCase()) };
    case 'addDelegate':
      return {
        kind: 'addDelegate',
        delegateType: c.delegateType as Hex,
        delegate: getAddress(c.delegate.toLowerCase()),
        validity: BigInt(c.validity),
      };
    case 'revokeDelegate':
      return {
        kind: 'revokeDelegate',
        delegateType: c.delegateType as Hex,
        delegate: getAddress(c.delegate.toLowerCase()),
      };
    case 'setAttribute':
      return {
        kind: 'setAttribute',
        name: c.name as Hex,
        value: c.value as Hex,
        validity: BigInt(c.validity),
      };
  }
}

function vrs(signature: Hex) {
  const { r, s, v, yParity } = parseSignature(signature);
  return [Number(v ?? BigInt(yParity + 27)), r, s] as const;
}

type Checked = {
  identity: Address;
  owner: Address;
  accountController?: Address | undefined;
  /** Signed for the nonce the identity's queued DID writes leave behind: the chain's state now cannot dry-run it. */
  afterQueued: boolean;
};

async function check(
  body: Body,
  services: ApiServices,
): Promise<Checked & { ok: boolean; signer?: Address }> {
  const identity = getAddress(body.identity.toLowerCase());
  const { chainId, deployment } = services.chain;
  const didRegistry = deployment.contracts.didRegistry.address;
  // The nonces `GET /v1/did/{address}/nonce` answered: past the identity's DID writes still queued here.
  const next = await nextDidNonce(services, identity);
  const { owner } = next;
  const change = toChange(body);
  const signature = body.signature as Hex;
  if (body.account === undefined) {
    const signer = await recoverAddress({
      hash: didChangeHash({ didRegistry, nonce: next.nonce, identity, change }),
      signature,
    }).catch(() => undefined);
    return {
      identity,
      owner,
      afterQueued: next.nonce !== next.chainNonce,
      ok: signer !== undefined && isAddressEqual(signer, owner),
      ...(signer ? { signer } : {}),
    };
  }
  const account = next.account;
  if (account === undefined) return { identity, owner, afterQueued: false, ok: false };
  const nonce = BigInt(body.account.nonce);
  const { target, data } = accountCall(identity, change, account.address, didRegistry);
  const signer = await recoverTypedDataAddress({
    ...toAccountExecuteTypedData({
      chainId,
      account: account.address,
      message: { target, data, nonce, deadline: BigInt(body.account.deadline) },
    }),
    signature,
  }).catch(() => undefined);
  return {
    identity,
    owner,
    accountController: account.controller,
    // A nonce below the next one is the chain's to refuse (the dry run says `stale-signature`); the next one, past
    // queued writes, cannot be dry-run now.
    afterQueued: account.nonce !== account.chainNonce && nonce === account.nonce,
    ok: signer !== undefined && isAddressEqual(signer, account.controller),
    ...(signer ? { signer } : {}),
  };
}

/**
 * `POST /v1/did/changes`: relays an owner-signed ERC-1056 change of a DID — a key rotation (`changeOwner`), a
 * delegate added or revoked, an attribute. When the identity has stolen-phone recovery on, its owner is its
 * `RecoveryAccount`: the controller signs an `Execute` (`account` field) and the node relays
 * `RecoveryAccount.executeSigned` (a rotation then replaces the controller). Refused before any gas when not signed
 * by the key acting for the identity now, for the nonce `GET /v1/did/{address}/nonce` answers (past the identity's
 * DID writes still queued: a change signed after one still queued is relayed behind it, without a dry run, which
 * the chain's state could not pass yet); every attempt is logged (`did-change`).
 */
export const postDidChange = defineRoute({
  operationId: 'postDidChange',
  method: 'POST',
  path: '/v1/did/changes',
  summary: 'Relay a DID change: rotate the owner key, add or revoke a delegate, set an attribute',
  tags: ['identity'],
  auth: 'signed-payload',
  body: Body,
  responses: {
    200: {
      description: 'mined',
      schema: Type.Object(
        { transactionHash: Type.String(), blockNumber: Type.String() },
        { additionalProperties: false },
      ),
    },
    202: { description: 'queued', schema: Type.Object({ status: Type.String() }) },
    401: { description: 'not signed by the key acting for the identity' },
  },
  verifyPayload: async ({ body, services }) => {
    const checked = await check(body, services);
    if (!checked.ok) {
      return refuseAttempt(
        services,
        { operation: 'did-change', actor: checked.signer },
        401,
        'not-owner',
        body.account === undefined
          ? 'the change is not signed by the current owner of the identity (for its next registry nonce: GET /v1/did/{address}/nonce)'
          : 'the change is not signed by the key in control of the identity’s recovery account',
      );
    }
    return checked.identity;
  },
  handler: async ({ body, identity, services }) => {
    const { deployment } = services.chain;
    const didRegistry = deployment.contracts.didRegistry.address;
    const change = toChange(body);
    const signature = body.signature as Hex;
    const idempotencyKey = `did-change:${signature.toLowerCase()}`;
    // Read again here: a queued write mined since the check lets the chain dry-run this one after all.
    const { afterQueued, owner } = await check(body, services);
    if (body.account !== undefined) {
      const { target, data } = accountCall(identity, change, owner, didRegistry);
      return relayChainCall({
        services,
        operation: 'did-change',
        actor: identity,
        call: 'RecoveryAccount.executeSigned',
        to: owner,
        abi: recoveryAccountAbi as Abi,
        functionName: 'executeSigned',
        args: [target, data, BigInt(body.account.nonce), BigInt(body.account.deadline), signature],
        idempotencyKey,
        dryRun: !afterQueued,
      });
    }
    const [v, r, s] = vrs(signature);
    const call = (functionName: string, args: readonly unknown[]) =>
      relayChainCall({
        services,
        operation: 'did-change',
        actor: identity,
        call: `EthereumDIDRegistry.${functionName}`,
        to: didRegistry,
        abi: ethereumDidRegistryAbi as Abi,
        functionName,
        args,
        idempotencyKey,
        dryRun: !afterQueued,
      });
    switch (change.kind) {
      case 'changeOwner':
        return call('changeOwnerSigned', [identity, v, r, s, change.newOwner]);
      case 'addDelegate':
        return call('addDelegateSigned', [
          identity,
          v,
          r,
          s,
          change.delegateType,
          change.delegate,
          change.validity,
        ]);
      case 'revokeDelegate':
        return call('revokeDelegateSigned', [identity, v, r, s, change.delegateType, change.delegate]);
      case 'setAttribute':
        return call('setAttributeSigned', [identity, v, r, s, change.name, change.value, change.validity]);
    }
  },
});
