/**
 * Stolen-phone recovery through the node (docs/recovery.md): turn it on, guardians approve (relayed), the current
 * key cancels, anyone executes after the delay. Every attempt, accepted or refused, is a row in `identity_attempts`.
 */
import { getIdentityOwner, recoveryAbi, verifyOwnerSignature } from '@carekey/sdk/chain';
import {
  toApproveTypedData,
  toCancelTypedData,
  toConfigureTypedData,
  toEnableTypedData,
} from '@carekey/sdk/recovery';
import { type Static, type TObject, Type } from '@sinclair/typebox';
import { type Abi, type Address, getAddress, type Hex, hashTypedData, recoverTypedDataAddress } from 'viem';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { readChain } from '../../api/readChain.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { readRecovery } from '../readRecovery.ts';
import { refuseAttempt, relayChainCall } from '../relayChainCall.ts';

const Decimal = Type.String({ pattern: '^(0|[1-9][0-9]{0,30})$' });
const Signature = Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' });
const Bytes32 = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' });
const Relayed = {
  200: {
    description: 'mined',
    schema: Type.Object(
      { transactionHash: Type.String(), blockNumber: Type.String() },
      { additionalProperties: false },
    ),
  },
  202: { description: 'queued, not mined yet', schema: Type.Object({ status: Type.String() }) },
  401: { description: 'bad signature or expired' },
  403: { description: 'not a guardian, not the controller' },
  409: { description: 'stale round (a replayed approval), already approved, not ready, nothing pending' },
} as const;

const address = (value: string): Address => getAddress(value.toLowerCase());

async function signerOf(
  typedData: Parameters<typeof recoverTypedDataAddress>[0],
): Promise<Address | undefined> {
  return recoverTypedDataAddress(typedData).catch(() => undefined);
}

/** Does `signature` (over `hash`) speak for `identity` now: its owner's key, or its owner contract (ERC-1271)? */
async function speaksFor(
  services: ApiServices,
  identity: Address,
  signer: Address | undefined,
  hash: Hex,
  signature: Hex,
) {
  const { client, deployment } = services.chain;
  return readChain(async () => {
    const owner = await getIdentityOwner({
      client,
      didRegistry: deployment.contracts.didRegistry.address,
      identity,
    });
    return signer !== undefined && (await verifyOwnerSignature({ client, owner, signer, hash, signature }));
  });
}

const recoveryCall = (services: ApiServices) => ({
  to: services.chain.deployment.contracts.recovery.address,
  abi: recoveryAbi as Abi,
});

// ---------------------------------------------------------------------------------------------- GET state

const RecoveryStateSchema = Type.Object(
  {
    identity: AddressSchema,
    recovery: AddressSchema,
    owner: AddressSchema,
    ownerNonce: Decimal,
    enabled: Type.Boolean(),
    account: AddressSchema,
    controller: Type.Union([AddressSchema, Type.Null()]),
    guardians: Type.Array(AddressSchema),
    threshold: Type.Integer(),
    delay: Decimal,
    round: Decimal,
    shareSetRoot: Bytes32,
    shareEpoch: Type.Integer(),
    nonce: Decimal,
    pending: Type.Union([
      Type.Object(
        { newController: AddressSchema, approvals: Type.Integer(), readyAt: Decimal },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    approvedBy: Type.Array(AddressSchema),
    chainTime: Decimal,
  },
  { additionalProperties: false },
);

/** `GET /v1/recovery/{address}`: an identity's recovery settings, round, pending change and approvals. Public. */
export const getRecovery = defineRoute({
  operationId: 'getRecovery',
  method: 'GET',
  path: '/v1/recovery/{address}',
  summary: 'Stolen-phone recovery of an identity: guardians, threshold, delay, the change under way',
  tags: ['recovery'],
  auth: 'public',
  params: Type.Object({ address: AddressSchema }, { additionalProperties: false }),
  responses: { 200: { description: 'the state', schema: RecoveryStateSchema } },
  handler: async ({ params, services }) => {
    const s = await readRecovery(services, address(params.address));
    return {
      status: 200,
      body: {
        ...s,
        ownerNonce: s.ownerNonce.toString(),
        delay: s.delay.toString(),
        round: s.round.toString(),
        nonce: s.nonce.toString(),
        chainTime: s.chainTime.toString(),
        pending: s.pending === null ? null : { ...s.pending, readyAt: s.pending.readyAt.toString() },
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------- enable

/** The `RecoverySettings` fields, as `Enable` and `Configure` bodies both carry them. */
const SettingsFields = {
  guardians: Type.Array(AddressSchema, { minItems: 1, maxItems: 16 }),
  threshold: Type.Integer({ minimum: 1, maximum: 16 }),
  delay: Decimal,
  shareSetRoot: Bytes32,
  shareEpoch: Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 }),
};

/** A body's settings as `Recovery` takes them. */
function settingsOf(body: Static<TObject<typeof SettingsFields>>) {
  return {
    guardians: body.guardians.map(address),
    threshold: body.threshold,
    delay: BigInt(body.delay),
    shareSetRoot: body.shareSetRoot as Hex,
    shareEpoch: body.shareEpoch,
  };
}

const EnableBody = Type.Object(
  {
    identity: AddressSchema,
    controller: AddressSchema,
    ...SettingsFields,
    deadline: Decimal,
    signature: Signature,
    didSignature: Signature,
  },
  { additionalProperties: false },
);
type EnableBody = Static<typeof EnableBody>;

function enableArgs(body: EnableBody) {
  return [
    address(body.identity),
    address(body.controller),
    settingsOf(body),
    BigInt(body.deadline),
    body.signature as Hex,
    body.didSignature as Hex,
  ] as const;
}

/** `POST /v1/recovery/enable`: relays `Recovery.enableSigned` (the identity's owner signs `Enable` and the DID move). */
export const postRecoveryEnable = defineRoute({
  operationId: 'postRecoveryEnable',
  method: 'POST',
  path: '/v1/recovery/enable',
  summary: 'Turn on stolen-phone recovery: guardians, threshold, delay (signed by the identity owner)',
  tags: ['recovery'],
  auth: 'signed-payload',
  body: EnableBody,
  responses: Relayed,
  verifyPayload: async ({ body, services }) => {
    const identity = address(body.identity);
    const state = await readRecovery(services, identity);
    const [, controller, settings, deadline] = enableArgs(body);
    const typedData = toEnableTypedData({
      chainId: services.chain.chainId,
      recovery: state.recovery,
      identity,
      controller,
      settings,
      nonce: state.nonce,
      deadline,
    });
    const signature = body.signature as Hex;
    const signer = await signerOf({ ...typedData, signature });
    if (!(await speaksFor(services, identity, signer, hashTypedData(typedData), signature))) {
      return refuseAttempt(
        services,
        { operation: 'recovery-enable', actor: identity },
        401,
        'bad-signature',
        "the Enable is not signed by the identity's current owner",
      );
    }
    return identity;
  },
  handler: async ({ body, identity, services }) =>
    relayChainCall({
      services,
      operation: 'recovery-enable',
      actor: identity,
      call: 'Recovery.enableSigned',
      ...recoveryCall(services),
      functionName: 'enableSigned',
      args: enableArgs(body),
      idempotencyKey: `Recovery.enableSigned:${body.signature.toLowerCase()}`,
    }),
});

// ---------------------------------------------------------------------------------------------- configure

const ConfigureBody = Type.Object(
  {
    identity: AddressSchema,
    ...SettingsFields,
    nonce: Decimal,
    deadline: Decimal,
    signature: Signature,
  },
  { additionalProperties: false },
);

/**
 * `POST /v1/recovery/configure`: relays the key in control's `Configure` (`Recovery.configureSigned`): new
 * guardians, threshold, delay, or the share set of a re-share. Refused before any gas: recovery off
 * (`recovery-off`), a signature not by the key in control (`bad-signature`), a share epoch not above the anchored
 * one (`stale-share-set`: old shares must never count again), a bad configuration (`invalid-config`).
 */
export const postRecoveryConfigure = defineRoute({
  operationId: 'postRecoveryConfigure',
  method: 'POST',
  path: '/v1/recovery/configure',
  summary: 'Change guardians, threshold, delay or the anchored share set (signed by the key in control)',
  tags: ['recovery'],
  auth: 'signed-payload',
  body: ConfigureBody,
  responses: Relayed,
  verifyPayload: async ({ body, services }) => {
    const identity = address(body.identity);
    const state = await readRecovery(services, identity);
    const attempt = { operation: 'recovery-configure', actor: identity };
    if (!state.enabled) {
      return refuseAttempt(
        services,
        attempt,
        404,
        'recovery-off',
        'stolen-phone recovery is off for this identity',
      );
    }
    const typedData = toConfigureTypedData({
      chainId: services.chain.chainId,
      recovery: state.recovery,
      identity,
      settings: settingsOf(body),
      nonce: BigInt(body.nonce),
      deadline: BigInt(body.deadline),
    });
    const signature = body.signature as Hex;
    const signer = await signerOf({ ...typedData, signature });
    if (!(await speaksFor(services, identity, signer, hashTypedData(typedData), signature))) {
      return refuseAttempt(
        services,
        attempt,
        401,
        'bad-signature',
        'the Configure is not signed by the key in control',
      );
    }
    if (body.shareEpoch !== 0 && body.shareEpoch <= state.shareEpoch) {
      return refuseAttempt(
        services,
        attempt,
        409,
        'stale-share-set',
        `share epoch ${body.shareEpoch} is not above the anchored epoch ${state.shareEpoch}`,
      );
    }
    return identity;
  },
  handler: async ({ body, identity, services }) =>
    relayChainCall({
      services,
      operation: 'recovery-configure',
      actor: identity,
      call: 'Recovery.configureSigned',
      ...recoveryCall(services),
      functionName: 'configureSigned',
      args: [identity, settingsOf(body), BigInt(body.nonce), BigInt(body.deadline), body.signature as Hex],
      idempotencyKey: `Recovery.configureSigned:${body.signature.toLowerCase()}`,
    }),
});

// ---------------------------------------------------------------------------------------------- approve

const ApproveBody = Type.Object(
  {
    identity: AddressSchema,
    guardian: AddressSchema,
    newController: AddressSchema,
    round: Decimal,
    deadline: Decimal,
    signature: Signature,
  },
  { additionalProperties: false },
);

/**
 * `POST /v1/recovery/approvals`: relays a guardian's EIP-712 `Approve` (`Recovery.approveSigned`). Refused before
 * any gas: a signature not by the guardian's current owner (`bad-signature`), a non-guardian (`not-guardian`), an
 * approval of a cancelled or completed round — a replay (`stale-round`), a second approval (`already-approved`).
 */
export const postRecoveryApproval = defineRoute({
  operationId: 'postRecoveryApproval',
  method: 'POST',
  path: '/v1/recovery/approvals',
  summary: "Relay a guardian's approval of a patient's new key",
  tags: ['recovery'],
  auth: 'signed-payload',
  body: ApproveBody,
  responses: Relayed,
  verifyPayload: async ({ body, services }) => {
    const guardian = address(body.guardian);
    const typedData = toApproveTypedData({
      chainId: services.chain.chainId,
      recovery: services.chain.deployment.contracts.recovery.address,
      message: {
        identity: address(body.identity),
        guardian,
        newController: address(body.newController),
        round: BigInt(body.round),
        deadline: BigInt(body.deadline),
      },
    });
    const signature = body.signature as Hex;
    const signer = await signerOf({ ...typedData, signature });
    if (!(await speaksFor(services, guardian, signer, hashTypedData(typedData), signature))) {
      return refuseAttempt(
        services,
        { operation: 'recovery-approve', actor: signer },
        401,
        'bad-signature',
        "the approval is not signed by the guardian identity's current owner",
      );
    }
    return guardian;
  },
  handler: async ({ body, identity, services }) =>
    relayChainCall({
      services,
      operation: 'recovery-approve',
      actor: identity,
      call: 'Recovery.approveSigned',
      ...recoveryCall(services),
      functionName: 'approveSigned',
      args: [
        address(body.identity),
        identity,
        address(body.newController),
        BigInt(body.round),
        BigInt(body.deadline),
        body.signature as Hex,
      ],
      idempotencyKey: `Recovery.approveSigned:${body.signature.toLowerCase()}`,
    }),
});

// ---------------------------------------------------------------------------------------------- cancel

const CancelBody = Type.Object(
  { identity: AddressSchema, round: Decimal, deadline: Decimal, signature: Signature },
  { additionalProperties: false },
);

/** `POST /v1/recovery/cancel`: relays the current key's `Cancel` of the recovery under way (during the delay). */
export const postRecoveryCancel = defineRoute({
  operationId: 'postRecoveryCancel',
  method: 'POST',
  path: '/v1/recovery/cancel',
  summary: 'Relay the current key’s cancellation of a recovery under way',
  tags: ['recovery'],
  auth: 'signed-payload',
  body: CancelBody,
  responses: Relayed,
  verifyPayload: async ({ body, services }) => {
    const identity = address(body.identity);
    const typedData = toCancelTypedData({
      chainId: services.chain.chainId,
      recovery: services.chain.deployment.contracts.recovery.address,
      message: { identity, round: BigInt(body.round), deadline: BigInt(body.deadline) },
    });
    const signature = body.signature as Hex;
    const signer = await signerOf({ ...typedData, signature });
    if (!(await speaksFor(services, identity, signer, hashTypedData(typedData), signature))) {
      return refuseAttempt(
        services,
        { operation: 'recovery-cancel', actor: signer },
        401,
        'bad-signature',
        "the cancellation is not signed by the identity's current key",
      );
    }
    return identity;
  },
  handler: async ({ body, identity, services }) =>
    relayChainCall({
      services,
      operation: 'recovery-cancel',
      actor: identity,
      call: 'Recovery.cancelSigned',
      ...recoveryCall(services),
      functionName: 'cancelSigned',
      args: [identity, BigInt(body.round), BigInt(body.deadline), body.signature as Hex],
      idempotencyKey: `Recovery.cancelSigned:${body.signature.toLowerCase()}`,
    }),
});

// ---------------------------------------------------------------------------------------------- execute

/** `POST /v1/recovery/execute`: executes an approved recovery whose delay has passed (anyone may ask). */
export const postRecoveryExecute = defineRoute({
  operationId: 'postRecoveryExecute',
  method: 'POST',
  path: '/v1/recovery/execute',
  summary: 'Execute an approved recovery once its delay has passed',
  tags: ['recovery'],
  auth: 'public',
  body: Type.Object({ identity: AddressSchema }, { additionalProperties: false }),
  responses: Relayed,
  handler: async ({ body, services }) => {
    const identity = address(body.identity);
    const state = await readRecovery(services, identity);
    return relayChainCall({
      services,
      operation: 'recovery-execute',
      actor: identity,
      call: 'Recovery.execute',
      ...recoveryCall(services),
      functionName: 'execute',
      args: [identity],
      idempotencyKey: `Recovery.execute:${identity.toLowerCase()}:${state.round}`,
    });
  },
});

export const recoveryRoutes = [
  getRecovery,
  postRecoveryEnable,
  postRecoveryConfigure,
  postRecoveryApproval,
  postRecoveryCancel,
  postRecoveryExecute,
];
