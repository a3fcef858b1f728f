import { recordRegistryAbi, ShredAction, toShredTypedData } from '@carekey/sdk/chain';
import { VaultInputError } from '@carekey/sdk/errors';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddressEqual,
  recoverTypedDataAddress,
} from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { appendAccessLog } from './appendAccessLog.ts';
import { finalizeDueShreds } from './finalizeDueShreds.ts';
import type { Vault } from './Vault.ts';
import type { ChainHead } from './VaultChain.ts';
import { toAddress, toBytes32 } from './vaultInput.ts';

/** One signed `Shred` message (RecordRegistry EIP-712) without its patient, record and action. */
export type SignedShredPart = { nonce: bigint; deadline: bigint; signature: Hex };

/**
 * A signed shred request or cancellation (each with the patient's next RecordRegistry nonce). The finalisation is
 * not signed: it is permissionless on chain once the delay has passed, and this node relays it.
 */
export type ShredRequestInput = {
  action: 'request' | 'cancel';
  patient: Address;
  recordId: Hex;
  request: SignedShredPart;
};

export type VerifyShredParameters = { vault: Vault; input: ShredRequestInput };

export type VerifyShredReturnType = {
  patient: Address;
  recordId: Hex;
  head: ChainHead;
  digest: Hex;
};

async function checkPart(
  vault: Vault,
  head: ChainHead,
  owner: Address,
  message: { patient: Address; recordId: Hex; action: ShredAction },
  part: SignedShredPart,
  field: string,
): Promise<Hex> {
  const typedData = toShredTypedData({
    chainId: vault.chain.chainId,
    verifyingContract: vault.chain.contracts.recordRegistry,
    message: { ...message, nonce: part.nonce, deadline: part.deadline },
  });
  if (part.deadline <= head.timestamp) {
    throw new VaultInputError('signature-expired', `${field}.deadline ${part.deadline} has passed`);
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...typedData, signature: part.signature });
  } catch (cause) {
    throw new VaultInputError('bad-signature', `${field} signature does not verify`, { cause, status: 403 });
  }
  const signed = { signer, hash: hashTypedData(typedData), signature: part.signature };
  if (!(await vault.chain.ownerAccepts(owner, signed, head.number))) {
    throw new VaultInputError('not-owner', `${field} is not signed by the patient identity’s current owner`, {
      status: 403,
    });
  }
  return hashTypedData(typedData);
}

/**
 * Checks a signed `Shred` request or cancellation: signed by the patient's current owner with a deadline ahead in
 * chain time. (The nonce is the chain's to check: a wrong one makes the relayed write fail, nothing else.)
 *
 * @throws {VaultInputError} malformed (400), not the owner's signature (403).
 */
export async function verifyShred(parameters: VerifyShredParameters): Promise<VerifyShredReturnType> {
  const { vault, input } = parameters;
  const patient = toAddress(input.patient, 'patient');
  const recordId = toBytes32(input.recordId, 'recordId');
  const head = await vault.chain.head();
  const owner = await vault.chain.identityOwner(patient, head.number);
  const action = input.action === 'request' ? ShredAction.Request : ShredAction.Cancel;
  const digest = await checkPart(vault, head, owner, { patient, recordId, action }, input.request, 'request');
  return { patient, recordId, head, digest };
}

export type ShredRecordParameters = VerifyShredParameters;

export type ShredRecordReturnType = {
  /** The record's state after the call. */
  state: 'active' | 'pending_shred' | 'shredded';
  /** Chain time from which the shred is finalised (request only). */
  executableAt?: bigint;
};

/**
 * Forgets a record, two-phase (docs/protocol.md flow 5).
 * - `request`: at once the record is `pending_shred` (every release refused, the owner's too) and the signed request
 *   is enqueued; once the shred delay has passed (chain time of the mined request) {@link finalizeDueShreds}
 *   destroys every stanza and the salt and relays the permissionless `finalizeShred` (with a delay of 0 the keys go
 *   at once).
 * - `cancel`: within the delay, the record is `active` again and the cancellation is enqueued.
 * Each step writes its access-log row in the same transaction.
 *
 * @throws {VaultInputError} unknown record or not the patient's (404, one answer for both), wrong state (409),
 *   the delay has passed (409, cancel), bad signatures (403).
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function shredRecord(parameters: ShredRecordParameters): Promise<ShredRecordReturnType> {
  const { vault, input } = parameters;
  const { patient, recordId, head, digest } = await verifyShred(parameters);
  const id = hexToBytes(recordId);
  const { recordRegistry } = vault.chain.contracts;
  const action = input.action === 'request' ? ShredAction.Request : ShredAction.Cancel;
  const data = encodeFunctionData({
    abi: recordRegistryAbi,
    functionName: 'shredSigned',
    args: [patient, recordId, action, input.request.nonce, input.request.deadline, input.request.signature],
  });
  const executableAt = head.timestamp + BigInt(vault.shredDelay);
  const state = await vault.sql.transaction(async (tx) => {
    const { rows } = await tx.query<{ patient: Uint8Array; state: string }>(
      'select patient, state from records where record_id = $1',
      [id],
    );
    const row = rows[0];
    if (row === undefined || !isAddressEqual(bytesToHex(row.patient), patient)) {
      throw new VaultInputError('unknown-record', `no record ${recordId} of this patient`, { status: 404 });
    }
    if (input.action === 'request') {
      if (row.state !== 'active') {
        throw new VaultInputError('not-active', `record ${recordId} is ${row.state}`, { status: 409 });
      }
      await tx.query(`update records set state = 'pending_shred' where record_id = $1`, [id]);
      await tx.query(
        'insert into shred_requests (record_id, patient, executable_at, request_digest) values ($1, $2, $3, $4)',
        [id, hexToBytes(patient), executableAt, hexToBytes(digest)],
      );
    } else {
      const { rows: pending } = await tx.query<{ executable_at: bigint }>(
        'select executable_at from shred_requests where record_id = $1',
        [id],
      );
      const due = pending[0]?.executable_at;
      if (row.state !== 'pending_shred' || due === undefined) {
        throw new VaultInputError('not-pending', `record ${recordId} has no pending shred`, { status: 409 });
      }
      if (head.timestamp >= due) {
        throw new VaultInputError('too-late', `the shred of ${recordId} can no longer be cancelled`, {
          status: 409,
        });
      }
      await tx.query(`update records set state = 'active' where record_id = $1`, [id]);
      await tx.query('delete from shred_requests where record_id = $1', [id]);
    }
    await enqueueOutbox({
      sql: tx,
      kind: `RecordRegistry.shredSigned(${input.action})`,
      idempotencyKey: digest,
      payload: {
        to: recordRegistry,
        data,
      },
    });
    await appendAccessLog({
      tx,
      patient,
      actor: patient,
      action: input.action === 'request' ? 'shred_request' : 'shred_cancel',
      recordIds: [recordId],
      outcome: 'allowed',
      requestDigest: digest,
      signature: input.request.signature,
    });
    return input.action === 'request' ? ('pending_shred' as const) : ('active' as const);
  });
  if (state === 'active') return { state };
  const done = await finalizeDueShreds({ vault, recordIds: [recordId] });
  if (done.includes(recordId)) return { state: 'shredded', executableAt };
  // The node's shred loop may have destroyed the keys between the transaction above and this call (with a delay of
  // 0): say what the record is, not what this call did.
  const { rows } = await vault.sql.query<{ state: string }>(
    'select state from records where record_id = $1',
    [id],
  );
  return { state: rows[0]?.state === 'shredded' ? 'shredded' : state, executableAt };
}
