import { getIdentityOwner, toContractRevertError, verifyOwnerSignature } from '@carekey/sdk/chain';
import { ContractRevertError } from '@carekey/sdk/errors';
import { type IssuerAction, toApprovalTypedData, trustedIssuersAbi } from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import {
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  hashTypedData,
  recoverTypedDataAddress,
} from 'viem';
import { readContract } from 'viem/actions';
import { ApiError } from '../../api/ApiError.ts';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { readChain } from '../../api/readChain.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { enqueueOutbox } from '../../outbox/enqueueOutbox.ts';
import { getOutboxEntry } from '../../outbox/getOutboxEntry.ts';
import { logIdentityAttempt } from '../logIdentityAttempt.ts';

const Decimal = Type.String({ pattern: '^(0|[1-9][0-9]{0,30})$' });

const Body = Type.Object(
  {
    governor: AddressSchema,
    action: Type.Union([Type.Literal(0), Type.Literal(1)], { description: '0 add, 1 remove' }),
    issuer: AddressSchema,
    epoch: Decimal,
    nonce: Decimal,
    deadline: Decimal,
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);

type Body = {
  governor: string;
  action: 0 | 1;
  issuer: string;
  epoch: string;
  nonce: string;
  deadline: string;
  signature: string;
};

/** Custom errors of `TrustedIssuers` → problem codes a CLI can explain. */
const REVERT_CODES: Record<string, [number, string]> = {
  TrustedIssuersAlreadyApproved: [409, 'already-approved'],
  TrustedIssuersAlreadyTrusted: [409, 'already-trusted'],
  TrustedIssuersNotTrusted: [409, 'not-trusted'],
  TrustedIssuersNotGovernor: [403, 'not-governor'],
  TrustedIssuersStaleEpoch: [409, 'stale-approval'],
  TrustedIssuersInvalidNonce: [409, 'stale-approval'],
  TrustedIssuersSignatureExpired: [401, 'expired'],
  TrustedIssuersInvalidSignature: [401, 'bad-signature'],
  TrustedIssuersZeroIssuer: [400, 'invalid-issuer'],
};

function args(body: Body) {
  return [
    getAddress(body.governor.toLowerCase()),
    body.action,
    getAddress(body.issuer.toLowerCase()),
    BigInt(body.epoch),
    BigInt(body.nonce),
    BigInt(body.deadline),
    body.signature as Hex,
  ] as const;
}

function call(body: Body) {
  return encodeFunctionData({ abi: trustedIssuersAbi, functionName: 'approveSigned', args: args(body) });
}

async function verifyApproval({ body, services }: { body: Body; services: ApiServices }): Promise<Address> {
  const governor = getAddress(body.governor.toLowerCase());
  const refuse = async (status: number, code: string, detail: string): Promise<never> => {
    await logIdentityAttempt({
      sql: services.sql,
      operation: 'approve-issuer',
      actor: governor,
      outcome: 'refused',
      reason: code,
    });
    throw new ApiError({ status, code, detail });
  };
  const { client, deployment, chainId } = services.chain;
  const trustedIssuers = deployment.contracts.trustedIssuers.address;
  const typedData = toApprovalTypedData({
    chainId,
    verifyingContract: trustedIssuers,
    message: {
      governor,
      action: body.action as IssuerAction,
      issuer: getAddress(body.issuer.toLowerCase()),
      epoch: BigInt(body.epoch),
      nonce: BigInt(body.nonce),
      deadline: BigInt(body.deadline),
    },
  });
  const signature = body.signature as Hex;
  const signer = await recoverTypedDataAddress({ ...typedData, signature }).catch(() => undefined);
  const accepted = await readChain(async () => {
    const didRegistry = deployment.contracts.didRegistry.address;
    const owner = await getIdentityOwner({ client, didRegistry, identity: governor });
    const hash = hashTypedData(typedData);
    return signer !== undefined && (await verifyOwnerSignature({ client, owner, signer, hash, signature }));
  });
  if (!accepted) {
    return refuse(
      401,
      'bad-signature',
      "the approval is not signed by the governor identity's current owner",
    );
  }
  const isGovernor = await readChain(() =>
    readContract(client, {
      abi: trustedIssuersAbi,
      address: trustedIssuers,
      functionName: 'isGovernor',
      args: [governor],
    }),
  );
  if (!isGovernor) return refuse(403, 'not-governor', `${governor} is not a TrustedIssuers governor`);
  // Dry-run so that an approval the contract would refuse costs no gas and gets a clear answer.
  try {
    await client.simulateContract({
      abi: trustedIssuersAbi,
      address: trustedIssuers,
      functionName: 'approveSigned',
      args: args(body),
    });
  } catch (error) {
    const revert = toContractRevertError({
      call: 'TrustedIssuers.approveSigned',
      error,
      abi: trustedIssuersAbi,
    });
    const known =
      revert instanceof ContractRevertError && revert.errorName ? REVERT_CODES[revert.errorName] : undefined;
    if (known) return refuse(known[0], known[1], revert.shortMessage);
    throw new ApiError({
      status: 503,
      code: 'chain-unavailable',
      detail: 'the node cannot reach the chain; retry',
      cause: error,
    });
  }
  return governor;
}

/**
 * `POST /v1/issuers/approvals`: relays a governor's EIP-712 `Approval` to add or remove a trusted issuer
 * (`TrustedIssuers.approveSigned`; the change applies at the m-th approval). Checked first (signature by the
 * governor's current owner, governor, a dry run), then queued in the outbox; answers once mined (202 if slower).
 */
export const postIssuerApproval = defineRoute({
  operationId: 'postIssuerApproval',
  method: 'POST',
  path: '/v1/issuers/approvals',
  summary: 'Relay a governor approval to add or remove a trusted issuer',
  tags: ['identity'],
  auth: 'signed-payload',
  body: Body,
  responses: {
    200: {
      description: 'mined',
      schema: Type.Object(
        {
          transactionHash: Type.String(),
          trusted: Type.Boolean(),
          approvals: Type.Integer({ description: 'approvals of the pending change (0 once applied)' }),
          threshold: Type.Integer(),
        },
        { additionalProperties: false },
      ),
    },
    202: { description: 'queued, not mined yet', schema: Type.Object({ status: Type.String() }) },
    401: { description: 'bad signature or expired' },
    403: { description: 'not a governor' },
    409: { description: 'already approved, already trusted / not trusted, stale epoch or nonce' },
  },
  verifyPayload: verifyApproval,
  handler: async ({ body, identity, services }) => {
    const idempotencyKey = `TrustedIssuers.approveSigned:${body.signature.toLowerCase()}`;
    const address = services.chain.deployment.contracts.trustedIssuers.address;
    await enqueueOutbox({
      sql: services.sql,
      kind: 'TrustedIssuers.approveSigned',
      idempotencyKey,
      payload: { to: address, data: call(body) },
    });
    services.outbox.wake();
    await logIdentityAttempt({
      sql: services.sql,
      operation: 'approve-issuer',
      actor: identity,
      outcome: 'accepted',
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const entry = await getOutboxEntry({ sql: services.sql, idempotencyKey });
      if (entry?.status === 'confirmed' && entry.txHash !== undefined) {
        const issuer = getAddress(body.issuer.toLowerCase());
        const { client } = services.chain;
        const [trusted, approvals, threshold] = await readChain(() =>
          Promise.all([
            readContract(client, {
              abi: trustedIssuersAbi,
              address,
              functionName: 'isTrusted',
              args: [issuer],
            }),
            readContract(client, {
              abi: trustedIssuersAbi,
              address,
              functionName: 'approvals',
              args: [body.action, issuer],
            }),
            readContract(client, { abi: trustedIssuersAbi, address, functionName: 'threshold' }),
          ]),
        );
        return {
          status: 200,
          body: {
            transactionHash: entry.txHash,
            trusted,
            approvals: Number(approvals),
            threshold: Number(threshold),
          },
        };
      }
      if (entry?.status === 'failed') {
        throw new ApiError({
          status: 409,
          code: 'chain-refused',
          detail: 'TrustedIssuers refused the approval',
        });
      }
      if (entry === undefined || Date.now() > deadline)
        return { status: 202, body: { status: entry?.status ?? 'pending' } };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  },
});
