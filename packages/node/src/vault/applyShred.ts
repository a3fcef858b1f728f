import { type Address, type Hex, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';
import { appendAccessLog } from './appendAccessLog.ts';

export type ApplyShredParameters = {
  tx: SqlExecutor;
  recordId: Hex;
  /** Who asked (the patient); logged as the actor. */
  actor: Address;
  /** Access-log reason, e.g. `finalised` or `tombstone re-applied`. */
  reason: string;
  requestDigest?: Hex | undefined;
  signature?: Hex | undefined;
};

/** `true` if the record was shredded by this call, `false` if it already was (or is unknown). */
export type ApplyShredReturnType = boolean;

/**
 * Destroys a record's keys in the vault, inside the caller's transaction: deletes every stanza of the record and
 * its salt (so nothing links its on-chain leaf to the patient any more, R-11), marks it `shredded`, and keeps a
 * tombstone (never deleted; re-applied after a restore, F-8). Idempotent. The ciphertext stays, undecryptable.
 * A pending request row (`shred_requests`) is not touched: `finalizeDueShreds` drops it once it has relayed the
 * chain's finalisation.
 *
 * @example
 * await sql.transaction((tx) => applyShred({ tx, recordId, actor: patient, reason: 'finalised' }));
 */
export async function applyShred(parameters: ApplyShredParameters): Promise<ApplyShredReturnType> {
  const { tx, recordId } = parameters;
  const id = hexToBytes(recordId);
  await tx.query('insert into shred_tombstones (record_id) values ($1) on conflict do nothing', [id]);
  await tx.query('delete from stanzas where record_id = $1', [id]);
  await tx.query('delete from emergency_stanzas where record_id = $1', [id]);
  const { rows } = await tx.query<{ patient: Uint8Array }>(
    `update records set state = 'shredded', salt = null where record_id = $1 and state <> 'shredded' returning patient`,
    [id],
  );
  const patient = rows[0]?.patient;
  if (patient === undefined) return false;
  await appendAccessLog({
    tx,
    patient: `0x${Buffer.from(patient).toString('hex')}` as Address,
    actor: parameters.actor,
    action: 'shred',
    recordIds: [recordId],
    outcome: 'allowed',
    reason: parameters.reason,
    requestDigest: parameters.requestDigest,
    signature: parameters.signature,
  });
  return true;
}
