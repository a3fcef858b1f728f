import { consentRegistryAbi, ScopeKind, toAccessRequestTypedData, ZERO_BYTES32 } from '@carekey/sdk/chain';
import { VaultInputError } from '@carekey/sdk/errors';
import {
  type Address,
  encodeFunctionData,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddressEqual,
  zeroAddress,
} from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { checkOwnerSignature } from './checkOwnerSignature.ts';
import type { Vault } from './Vault.ts';
import { toAddress, toBytes32 } from './vaultInput.ts';

/** An `AccessRequest` (ConsentRegistry EIP-712) as signed by the requester's owner. */
export type SignedAccessRequestInput = {
  requester: Address;
  patient: Address;
  scopeKind: number;
  scopeData: readonly Hex[];
  purpose: Hex;
  expiresAt: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
};

export type SubmitAccessRequestParameters = {
  vault: Vault;
  /** The verified identity that sent it: must be the requester. */
  identity: Address;
  request: SignedAccessRequestInput;
  /**
   * What the requester tells the patient (categories asked for, reason): an age file encrypted to the patient's
   * X25519 key. Opaque to the node, at most 16 KiB.
   */
  sealed?: Uint8Array | undefined;
};

export type SubmitAccessRequestReturnType = {
  /** EIP-712 digest of the signed request (outbox idempotency key; `GET /v1/requests` names it until mined). */
  requestDigest: Hex;
};

/** Largest sealed note a request may carry. */
export const MAX_SEALED_NOTE = 16 * 1024;

/**
 * Files a provider's access request (docs/protocol.md flow 7): checks the signed `AccessRequest` — the sender is
 * the requester, its current owner signed it, the nonce is not used yet, deadline and expiry are ahead in chain
 * time, the scope is well formed (a `Categories` request carries one commitment to the categories it names in its
 * sealed note: the requester cannot compute the patient's tags), the patient is not the requester, and the
 * requester has published the X25519 key a grant would be wrapped to — then, in one transaction, keeps the sealed
 * note and enqueues `requestAccessSigned`.
 *
 * @throws {VaultInputError} malformed (400), not the requester or not its owner's signature (403), nonce already
 *   used or the same request twice (409).
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function submitAccessRequest(
  parameters: SubmitAccessRequestParameters,
): Promise<SubmitAccessRequestReturnType> {
  const { vault, request: r } = parameters;
  const requester = toAddress(r.requester, 'request.requester');
  const patient = toAddress(r.patient, 'request.patient');
  if (!isAddressEqual(parameters.identity, requester)) {
    throw new VaultInputError('not-requester', 'only the requester may file its access requests', {
      status: 403,
    });
  }
  if (isAddressEqual(patient, zeroAddress))
    throw new VaultInputError('invalid-patient', 'request.patient is zero');
  if (isAddressEqual(patient, requester)) {
    throw new VaultInputError('self-request', 'a requester cannot ask itself for access');
  }
  if (![ScopeKind.All, ScopeKind.Categories, ScopeKind.Records].includes(r.scopeKind as ScopeKind)) {
    throw new VaultInputError('invalid-scope', `request.scopeKind ${r.scopeKind} is not 0, 1 or 2`);
  }
  const scopeKind = r.scopeKind as ScopeKind;
  const scopeData = r.scopeData.map((d, i) => toBytes32(d, `request.scopeData[${i}]`));
  const expected = scopeKind === ScopeKind.All ? 0 : 1;
  if (scopeData.length !== expected || scopeData.some((d) => d === ZERO_BYTES32)) {
    throw new VaultInputError(
      'invalid-scope',
      `scope kind ${scopeKind} takes ${expected} non-zero item${expected === 1 ? '' : 's'}`,
    );
  }
  const purpose = toBytes32(r.purpose, 'request.purpose');
  if (purpose === ZERO_BYTES32) throw new VaultInputError('invalid-purpose', 'request.purpose is zero');
  if (parameters.sealed !== undefined && parameters.sealed.length > MAX_SEALED_NOTE) {
    throw new VaultInputError('sealed-too-large', `the sealed note is over ${MAX_SEALED_NOTE} bytes`);
  }
  const { consentRegistry } = vault.chain.contracts;
  const message = {
    requester,
    patient,
    scopeKind,
    scopeData,
    purpose,
    expiresAt: r.expiresAt,
    nonce: r.nonce,
    deadline: r.deadline,
  };
  const typedData = toAccessRequestTypedData({
    chainId: vault.chain.chainId,
    verifyingContract: consentRegistry,
    message,
  });
  const requestDigest = hashTypedData(typedData);
  const head = await vault.chain.head();
  if (message.deadline <= head.timestamp) {
    throw new VaultInputError(
      'signature-expired',
      `the AccessRequest deadline ${message.deadline} has passed`,
    );
  }
  if (message.expiresAt <= head.timestamp) {
    throw new VaultInputError(
      'expiry-in-past',
      `request.expiresAt ${message.expiresAt} is not after chain time ${head.timestamp}`,
    );
  }
  await checkOwnerSignature({
    vault,
    identity: requester,
    typedData,
    signature: r.signature,
    blockNumber: head.number,
    what: 'AccessRequest',
  });
  const chainNonce = await vault.chain.readNonce('ConsentRegistry', requester, head.number);
  if (message.nonce < chainNonce) {
    throw new VaultInputError(
      'nonce-used',
      `nonce ${message.nonce} was already used (the next is ${chainNonce})`,
      {
        status: 409,
        hint: 'sign again with the nonce from GET /v1/nonces/{address}?contract=ConsentRegistry',
      },
    );
  }
  if ((await vault.chain.encryptionKey(requester)) === undefined) {
    throw new VaultInputError('no-encryption-key', 'the requester has published no X25519 key on its DID', {
      hint: 'publish one first (carekey init does): a grant is wrapped to it',
    });
  }
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: 'requestAccessSigned',
    args: [
      requester,
      patient,
      scopeKind,
      scopeData,
      purpose,
      message.expiresAt,
      message.nonce,
      message.deadline,
      r.signature,
    ],
  });
  await vault.sql.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `insert into access_request_submissions (request_digest, requester, patient, sealed) values ($1, $2, $3, $4)
       on conflict (request_digest) do nothing returning 1`,
      [hexToBytes(requestDigest), hexToBytes(requester), hexToBytes(patient), parameters.sealed ?? null],
    );
    if (rowCount === 0) {
      throw new VaultInputError('request-exists', 'this signed access request was already submitted', {
        status: 409,
      });
    }
    await enqueueOutbox({
      sql: tx,
      kind: 'ConsentRegistry.requestAccessSigned',
      idempotencyKey: requestDigest,
      payload: { to: consentRegistry, data },
    });
  });
  return { requestDigest };
}
