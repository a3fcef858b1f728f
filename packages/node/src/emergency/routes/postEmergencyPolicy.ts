import { EmergencyPolicy, emergencyAbi, hashPolicyChange } from '@carekey/sdk/emergency';
import { Type } from '@sinclair/typebox';
import { type Address, encodeFunctionData, getAddress, type Hex, recoverAddress } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { readChain } from '../../api/readChain.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { SignatureSchema, UintSchema } from '../../api/routes/vaultSchemas.ts';
import { enqueueOutbox } from '../../outbox/enqueueOutbox.ts';
import { getOutboxEntry } from '../../outbox/getOutboxEntry.ts';
import { needEmergency } from '../openEmergencyAccess.ts';
import { readPolicy } from '../readPolicy.ts';
import { PolicyName } from './getEmergencyPolicy.ts';

const Body = Type.Object(
  {
    patient: AddressSchema,
    policy: PolicyName,
    nonce: UintSchema,
    deadline: UintSchema,
    signature: SignatureSchema,
  },
  { additionalProperties: false },
);
type Body = {
  patient: string;
  policy: 'off' | 'summary' | 'all';
  nonce: string;
  deadline: string;
  signature: string;
};

function message(body: Body) {
  return {
    patient: getAddress(body.patient.toLowerCase()),
    policy: EmergencyPolicy[body.policy],
    nonce: BigInt(body.nonce),
    deadline: BigInt(body.deadline),
  };
}

async function verify({ body, services }: { body: Body; services: ApiServices }): Promise<Address> {
  const emergency = needEmergency(services);
  const m = message(body);
  if (m.deadline < BigInt(Math.floor(Date.now() / 1000))) {
    throw new ApiError({
      status: 401,
      code: 'signature-expired',
      detail: 'the policy change signature has expired',
    });
  }
  const hash = hashPolicyChange({
    chainId: services.chain.chainId,
    verifyingContract: emergency.contract,
    message: m,
  });
  let signer: Address | undefined;
  try {
    signer = await recoverAddress({ hash, signature: body.signature as Hex });
  } catch {
    signer = undefined; // may still be an ERC-1271 owner's signature (a RecoveryAccount)
  }
  const head = await readChain(() => services.vault.chain.head());
  const owner = await readChain(() => services.vault.chain.identityOwner(m.patient, head.number));
  const accepted = await readChain(() =>
    services.vault.chain.ownerAccepts(owner, { signer, hash, signature: body.signature as Hex }, head.number),
  );
  if (!accepted) {
    throw new ApiError({
      status: 403,
      code: 'not-owner',
      detail: "not signed by the patient identity's current owner",
    });
  }
  const state = await readPolicy(services, m.patient);
  if (m.nonce !== state.nonce) {
    throw new ApiError({
      status: 409,
      code: 'nonce-used',
      detail: `the policy change carries nonce ${m.nonce}, the next is ${state.nonce} (replayed or out of order)`,
    });
  }
  return m.patient;
}

/**
 * `POST /v1/emergency/policies`: relays a patient's signed `PolicyChange` (`Emergency.setPolicySigned`) through
 * the outbox; answers once mined (202 if slower). Checked first: signature by the patient's current owner,
 * deadline, next nonce.
 */
export const postEmergencyPolicy = defineRoute({
  operationId: 'postEmergencyPolicy',
  method: 'POST',
  path: '/v1/emergency/policies',
  summary: "Relay a patient's signed break-glass policy change (off / summary / all)",
  tags: ['emergency'],
  auth: 'signed-payload',
  body: Body,
  responses: {
    200: {
      description: 'mined',
      schema: Type.Object(
        { status: Type.Literal('mined'), policy: PolicyName, transactionHash: Type.String() },
        { additionalProperties: false },
      ),
    },
    202: {
      description: 'queued, not mined yet',
      schema: Type.Object(
        { status: Type.Literal('queued'), policy: PolicyName },
        { additionalProperties: false },
      ),
    },
    401: { description: 'bad or expired signature' },
    403: { description: "not the patient's owner" },
    409: { description: 'nonce used, or the contract refused it' },
  },
  verifyPayload: verify,
  handler: async ({ body, services }) => {
    const emergency = needEmergency(services);
    const m = message(body);
    const idempotencyKey = hashPolicyChange({
      chainId: services.chain.chainId,
      verifyingContract: emergency.contract,
      message: m,
    });
    await enqueueOutbox({
      sql: services.sql,
      kind: 'Emergency.setPolicySigned',
      idempotencyKey,
      payload: {
        to: emergency.contract,
        data: encodeFunctionData({
          abi: emergencyAbi,
          functionName: 'setPolicySigned',
          args: [m.patient, m.policy, m.nonce, m.deadline, body.signature as Hex],
        }),
      },
    });
    services.outbox.wake();
    const until = Date.now() + 20_000;
    for (;;) {
      const entry = await getOutboxEntry({ sql: services.sql, idempotencyKey });
      if (entry?.status === 'confirmed' && entry.txHash !== undefined) {
        return { status: 200, body: { status: 'mined', policy: body.policy, transactionHash: entry.txHash } };
      }
      if (entry?.status === 'failed') {
        throw new ApiError({
          status: 409,
          code: 'chain-refused',
          detail: 'the Emergency contract refused the change',
        });
      }
      if (entry === undefined || Date.now() > until)
        return { status: 202, body: { status: 'queued', policy: body.policy } };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  },
});
