import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { applyShred } from './applyShred.ts';
import type { Vault } from './Vault.ts';

export type ReapplyTombstonesParameters = { vault: Vault };

/** Records whose keys were destroyed again by this call (non-empty only after a restore). */
export type ReapplyTombstonesReturnType = Hex[];

/**
 * Re-applies shred tombstones (F-8, T-28): for every record shredded on chain (`Shredded` events, which a backup
 * cannot roll back) or tombstoned in the vault, destroys any stanza or salt that came back — e.g. after the
 * database was restored from a backup made before the shred. Run it at start-up, before serving. Idempotent.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read (the node must not serve then).
 * @example
 * await reapplyTombstones({ vault });
 */
export async function reapplyTombstones(
  parameters: ReapplyTombstonesParameters,
): Promise<ReapplyTombstonesReturnType> {
  const { vault } = parameters;
  // A `Shredded` event counts for the record of its patient only: anyone can shred any record id under their own
  // identity (e.g. a grantee who knows the id), which must not touch the real patient's record.
  const onChain = await vault.chain.shreddedRecords();
  const ids = onChain.map((s) => hexToBytes(s.recordId));
  const patients = onChain.map((s) => hexToBytes(s.patient));
  const { rows } = await vault.sql.query<{ record_id: Uint8Array; patient: Uint8Array }>(
    `select record_id, patient from records
     where ((record_id, patient) in (select * from unnest($1::bytea[], $2::bytea[]))
            or record_id in (select record_id from shred_tombstones))
       and (state <> 'shredded' or salt is not null
            or exists (select 1 from stanzas s where s.record_id = records.record_id))`,
    [ids, patients],
  );
  const done: Hex[] = [];
  for (const row of rows) {
    const recordId = bytesToHex(row.record_id);
    await vault.sql.transaction(async (tx) => {
      // A record already marked shredded whose stanzas reappeared: applyShred deletes them either way.
      await applyShred({ tx, recordId, actor: bytesToHex(row.patient), reason: 'tombstone re-applied' });
    });
    done.push(recordId);
  }
  // Tombstones from the chain that the restored database did not have yet (not for another patient's record).
  for (const [i, id] of ids.entries()) {
    await vault.sql.query(
      `insert into shred_tombstones (record_id) select $1::bytea
       where not exists (select 1 from records where record_id = $1 and patient <> $2) on conflict do nothing`,
      [id, patients[i]],
    );
  }
  return done;
}
