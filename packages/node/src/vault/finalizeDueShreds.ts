import { recordRegistryAbi, ShredAction, toShredTypedData } from '@carekey/sdk/chain';
import { type Address, bytesToHex, encodeFunctionData, type Hex, hashTypedData, hexToBytes } from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { applyShred } from './applyShred.ts';
import type { Vault } from './Vault.ts';

export type FinalizeDueShredsParameters = {
  vault: Vault;
  /** Only these records (default: every pending shred). */
  recordIds?: readonly Hex[] | undefined;
};

/** The records shredded by this call. */
export type FinalizeDueShredsReturnType = Hex[];

/**
 * Finalises every pending shred whose delay has passed by chain time: in one transaction per record, enqueues the
 * patient's pre-signed `Shred(Finalize)` and destroys the record's keys ({@link applyShred}). Run it periodically
 * (and after each request: with a delay of 0 it finalises at once).
 *
 * With a delay > 0 the chain accepts the finalisation only from the request's block time + delay (its
 * `executableAt`), so a shred is due only once the request's outbox entry is confirmed and the head's chain time has
 * reached that block's time + delay: a request mined late can never make the finalisation `ShredTooEarly` after the
 * keys are gone. With a delay of 0 the outbox's order (request before finalisation, one sender) is enough.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 * @example
 * setInterval(() => finalizeDueShreds({ vault }), 10_000);
 */
export async function finalizeDueShreds(
  parameters: FinalizeDueShredsParameters,
): Promise<FinalizeDueShredsReturnType> {
  const { vault } = parameters;
  const head = await vault.chain.head();
  const only = parameters.recordIds?.map((id) => hexToBytes(id));
  const { rows } = await vault.sql.query<{
    record_id: Uint8Array;
    patient: Uint8Array;
    finalize_nonce: string;
    finalize_deadline: string;
    finalize_signature: Uint8Array;
    request_digest: Uint8Array | null;
    request_status: string | null;
    request_block: bigint | null;
  }>(
    `select s.record_id, s.patient, s.finalize_nonce::text as finalize_nonce,
            s.finalize_deadline::text as finalize_deadline, s.finalize_signature, s.request_digest,
            o.status as request_status, o.block_number as request_block
     from shred_requests s left join outbox o on o.idempotency_key = '0x' || encode(s.request_digest, 'hex')
     where s.executable_at <= $1 and ($2::bytea[] is null or s.record_id = any($2)) order by s.created_at`,
    [head.timestamp, only ?? null],
  );
  const done: Hex[] = [];
  for (const row of rows) {
    if (vault.shredDelay > 0 && row.request_digest !== null) {
      // Not mined yet (or failed): the chain has no executableAt to go by.
      if (row.request_status !== 'confirmed' || row.request_block === null) continue;
      const requestedAt = await vault.chain.blockTimestamp(BigInt(row.request_block));
      if (head.timestamp < requestedAt + BigInt(vault.shredDelay)) continue;
    }
    const recordId = bytesToHex(row.record_id);
    const patient = bytesToHex(row.patient) as Address;
    const nonce = BigInt(row.finalize_nonce);
    const deadline = BigInt(row.finalize_deadline);
    const signature = bytesToHex(row.finalize_signature);
    const { recordRegistry } = vault.chain.contracts;
    const digest = hashTypedData(
      toShredTypedData({
        chainId: vault.chain.chainId,
        verifyingContract: recordRegistry,
        message: { patient, recordId, action: ShredAction.Finalize, nonce, deadline },
      }),
    );
    const shredded = await vault.sql.transaction(async (tx) => {
      await enqueueOutbox({
        sql: tx,
        kind: 'RecordRegistry.shredSigned(finalize)',
        idempotencyKey: digest,
        payload: {
          to: recordRegistry,
          data: encodeFunctionData({
            abi: recordRegistryAbi,
            functionName: 'shredSigned',
            args: [patient, recordId, ShredAction.Finalize, nonce, deadline, signature],
          }),
        },
      });
      return applyShred({
        tx,
        recordId,
        actor: patient,
        reason: 'finalised',
        requestDigest: digest,
        signature,
      });
    });
    if (shredded) done.push(recordId);
  }
  return done;
}
