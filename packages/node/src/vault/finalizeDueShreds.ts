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
  }>(
    `select record_id, patient, finalize_nonce::text as finalize_nonce, finalize_deadline::text as finalize_deadline,
            finalize_signature
     from shred_requests where executable_at <= $1 and ($2::bytea[] is null or record_id = any($2)) order by created_at`,
    [head.timestamp, only ?? null],
  );
  const done: Hex[] = [];
  for (const row of rows) {
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
