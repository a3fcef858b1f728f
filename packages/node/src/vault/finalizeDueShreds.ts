import { recordRegistryAbi } from '@carekey/sdk/chain';
import { type Address, bytesToHex, encodeFunctionData, getAddress, type Hex, hexToBytes } from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { applyShred } from './applyShred.ts';
import type { Vault } from './Vault.ts';

export type FinalizeDueShredsParameters = {
  vault: Vault;
  /** Only these records (default: every pending shred). */
  recordIds?: readonly Hex[] | undefined;
};

/** The records whose keys this call destroyed. */
export type FinalizeDueShredsReturnType = Hex[];

/**
 * The outbox key of a record's finalisation: a record is shredded at most once per patient (the contract's
 * `Shredded` state is final), so (patient, record) names the write for good: never enqueued twice, across restarts.
 */
export function finalizeShredKey(patient: Address, recordId: Hex): string {
  return `RecordRegistry.finalizeShred:${getAddress(patient)}:${recordId.toLowerCase()}`;
}

/**
 * Finalises the pending shreds that are due (docs/vault.md "Forget"). For each, in one transaction:
 * - **keys**: destroys every stanza and the salt ({@link applyShred}) once the shred is due by chain time: its
 *   request's outbox entry is confirmed and the head's time has reached that block's time + delay (the contract's
 *   `executableAt`, so a request mined late never has its keys destroyed while it can still be cancelled on chain).
 *   With a delay of 0 at once, on the request itself.
 * - **chain**: once the request is mined and its `executableAt` has passed, enqueues the permissionless
 *   `RecordRegistry.finalizeShred(patient, recordId)` (no signature of the patient, no nonce: it can never collide
 *   with the patient's other signed writes) and drops the request row. Idempotency key {@link finalizeShredKey}.
 *   With a delay of 0 this is a later run than the keys (the request must be mined first: the outbox would
 *   otherwise estimate the finalisation before the request lands).
 *
 * Run it periodically (the node does, every `shredInterval`) and after each request.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 * @example
 * setInterval(() => finalizeDueShreds({ vault }), 5_000);
 */
export async function finalizeDueShreds(
  parameters: FinalizeDueShredsParameters,
): Promise<FinalizeDueShredsReturnType> {
  const { vault } = parameters;
  const head = await vault.chain.head();
  const only = parameters.recordIds?.map((id) => hexToBytes(id));
  // executable_at is the node's estimate (head time at the request + delay), never later than the chain's.
  const { rows } = await vault.sql.query<{
    record_id: Uint8Array;
    patient: Uint8Array;
    request_digest: Uint8Array | null;
    request_status: string | null;
    request_block: bigint | null;
  }>(
    `select s.record_id, s.patient, s.request_digest, o.status as request_status, o.block_number as request_block
     from shred_requests s left join outbox o on o.idempotency_key = '0x' || encode(s.request_digest, 'hex')
     where s.executable_at <= $1 and ($2::bytea[] is null or s.record_id = any($2)) order by s.created_at`,
    [head.timestamp, only ?? null],
  );
  const done: Hex[] = [];
  for (const row of rows) {
    let onChainDue: boolean;
    if (row.request_digest === null) {
      onChainDue = true; // stored before migration 004: the node's estimate is all there is
    } else if (row.request_status !== 'confirmed' || row.request_block === null) {
      onChainDue = false; // not mined yet (or refused): the chain has no executableAt to go by
    } else {
      const requestedAt = await vault.chain.blockTimestamp(BigInt(row.request_block));
      onChainDue = head.timestamp >= requestedAt + BigInt(vault.shredDelay);
    }
    if (!onChainDue && vault.shredDelay > 0) continue;
    const recordId = bytesToHex(row.record_id);
    const patient = getAddress(bytesToHex(row.patient));
    const requestDigest = row.request_digest === null ? undefined : bytesToHex(row.request_digest);
    const { recordRegistry } = vault.chain.contracts;
    const shredded = await vault.sql.transaction(async (tx) => {
      if (onChainDue) {
        await enqueueOutbox({
          sql: tx,
          kind: 'RecordRegistry.finalizeShred',
          idempotencyKey: finalizeShredKey(patient, recordId),
          payload: {
            to: recordRegistry,
            data: encodeFunctionData({
              abi: recordRegistryAbi,
              functionName: 'finalizeShred',
              args: [patient, recordId],
            }),
          },
        });
        await tx.query('delete from shred_requests where record_id = $1', [row.record_id]);
      }
      // Idempotent: with a delay of 0 the keys went at the request, and this run only relays.
      return applyShred({ tx, recordId, actor: patient, reason: 'finalised', requestDigest });
    });
    if (shredded) done.push(recordId);
  }
  return done;
}
