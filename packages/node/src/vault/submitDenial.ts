import { consentRegistryAbi, toDenyTypedData } from '@carekey/sdk/chain';
import { VaultInputError } from '@carekey/sdk/errors';
import { type Address, encodeFunctionData, type Hex, hashTypedData } from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { checkOwnerSignature } from './checkOwnerSignature.ts';
import type { Vault } from './Vault.ts';
import type { ChainAccessRequest } from './VaultChain.ts';
import { toBytes32 } from './vaultInput.ts';

/** A `Deny` (ConsentRegistry EIP-712) signed by the patient's owner; the patient is read from the request. */
export type SignedDenyInput = { requestId: Hex; nonce: bigint; deadline: bigint; signature: Hex };

export type VerifyDenialParameters = { vault: Vault; deny: SignedDenyInput };

export type VerifyDenialReturnType = { patient: Address; request: ChainAccessRequest; denyDigest: Hex };

/**
 * Checks a signed `Deny`: the request exists on chain and is pending, the deadline is ahead (chain
 * time), the nonce is not used, and the signature is by the current owner of the request's patient — so nobody
 * denies someone else's request.
 *
 * @throws {VaultInputError} `unknown-request` (404), `not-pending` (409), `signature-expired` (400), `nonce-used` (409), `bad-signature` / `not-owner` (403).
 */
export async function verifyDenial(parameters: VerifyDenialParameters): Promise<VerifyDenialReturnType> {
  const { vault, deny } = parameters;
  const requestId = toBytes32(deny.requestId, 'requestId');
  const head = await vault.chain.head();
  const request = await vault.chain.readRequest(requestId, head.number);
  if (request === undefined) {
    throw new VaultInputError('unknown-request', `no access request ${requestId} on chain`, { status: 404 });
  }
  if (request.status !== 'pending') {
    throw new VaultInputError('not-pending', `access request ${requestId} is already ${request.status}`, {
      status: 409,
    });
  }
  if (deny.deadline <= head.timestamp) {
    throw new VaultInputError('signature-expired', `the Deny deadline ${deny.deadline} has passed`);
  }
  const typedData = toDenyTypedData({
    chainId: vault.chain.chainId,
    verifyingContract: vault.chain.contracts.consentRegistry,
    message: { patient: request.patient, requestId, nonce: deny.nonce, deadline: deny.deadline },
  });
  await checkOwnerSignature({
    vault,
    identity: request.patient,
    typedData,
    signature: deny.signature,
    blockNumber: head.number,
    what: 'Deny',
  });
  const chainNonce = await vault.chain.readNonce('ConsentRegistry', request.patient, head.number);
  if (deny.nonce < chainNonce) {
    throw new VaultInputError(
      'nonce-used',
      `nonce ${deny.nonce} was already used (the next is ${chainNonce})`,
      {
        status: 409,
      },
    );
  }
  return { patient: request.patient, request, denyDigest: hashTypedData(typedData) };
}

export type SubmitDenialReturnType = { denyDigest: Hex; requestId: Hex };

/**
 * Denies an access request (docs/protocol.md flow 7): after {@link verifyDenial}, enqueues `denyRequestSigned`.
 * The same signed `Deny` twice is one write (409 the second time).
 *
 * @throws {VaultInputError} see {@link verifyDenial}; `deny-exists` (409).
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function submitDenial(parameters: VerifyDenialParameters): Promise<SubmitDenialReturnType> {
  const { vault, deny } = parameters;
  const { request, denyDigest } = await verifyDenial(parameters);
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: 'denyRequestSigned',
    args: [request.requestId, deny.nonce, deny.deadline, deny.signature],
  });
  const { created } = await enqueueOutbox({
    sql: vault.sql,
    kind: 'ConsentRegistry.denyRequestSigned',
    idempotencyKey: denyDigest,
    payload: { to: vault.chain.contracts.consentRegistry, data },
  });
  if (!created)
    throw new VaultInputError('deny-exists', 'this signed denial was already submitted', { status: 409 });
  return { denyDigest, requestId: request.requestId };
}
