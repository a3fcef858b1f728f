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
  const onChain = await vault.chain.shreddedRecordIds();
  const { rows } = await vault.sql.query<{ record_id: Uint8Array; patient: Uint8Array }>(
    `select record_id, patient from records
     where (record_id = any($1) or record_id in (select record_id from shred_tombstones))
       and (state <> 'shredded' or salt is not null
            or exists (select 1 from stanzas s where s.record_id = records.record_id))`,
    [onChain.map((id) => hexToBytes(id))],
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
  // Tombstones from the chain that the restored database did not have yet.
  for (const id of onChain) {
    await vault.sql.query('insert into shred_tombstones (record_id) values ($1) on conflict do nothing', [
      hexToBytes(id),
    ]);
  }
  return done;
}
