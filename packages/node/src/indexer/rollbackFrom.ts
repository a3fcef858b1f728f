import { type Address, bytesToHex, type Hex } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

/** A `chain_events` row as a listener sees it when a reorg or a reset removes it (args as stored JSON). */
export type RemovedEvent = {
  eventName: string;
  args: Record<string, unknown>;
  address: Address;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
  txHash: Hex;
};

/**
 * Undoes, inside the caller's transaction, everything indexed from block `fromBlock` on (a reorg's fork point):
 * events, grants created, revocations, access requests and answers, DID keys and owners, batches (the records' batch
 * ids are read from them: `recordBatchIdSql`) and shred transitions. Returns the removed events, oldest first.
 *
 * Asymmetric finality (T-5): `grant_revocations_seen` and `shred_tombstones` stay, and a record whose pending
 * shred or shred was seen keeps its `records.state` (denied until the chain says otherwise again); only a removed
 * *cancellation* (a positive fact) puts a record back to `pending_shred`.
 */
export async function rollbackFrom(tx: SqlExecutor, fromBlock: bigint): Promise<RemovedEvent[]> {
  const { rows } = await tx.query<{
    name: string;
    args: Record<string, unknown>;
    contract: Uint8Array;
    block_number: bigint;
    block_hash: Uint8Array;
    log_index: number;
    tx_hash: Uint8Array;
  }>(
    `delete from chain_events where block_number >= $1
     returning name, args, contract, block_number, block_hash, log_index, tx_hash`,
    [fromBlock],
  );
  const removed = rows
    .map(
      (r): RemovedEvent => ({
        eventName: r.name,
        args: r.args,
        address: bytesToHex(r.contract) as Address,
        blockNumber: r.block_number,
        blockHash: bytesToHex(r.block_hash),
        logIndex: r.log_index,
        txHash: bytesToHex(r.tx_hash),
      }),
    )
    .sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
  await tx.query('delete from grants where created_block >= $1', [fromBlock]);
  await tx.query('update grants set revoked_block = null where revoked_block >= $1', [fromBlock]);
  await tx.query('delete from access_requests where requested_block >= $1', [fromBlock]);
  await tx.query(
    `update access_requests set status = 'pending', grant_id = null, answered_block = null
     where answered_block >= $1`,
    [fromBlock],
  );
  // Records lose the id of a batch whose event is undone with its chain_batches row (their batch id is read from it).
  for (const table of ['did_encryption_keys', 'did_owners', 'chain_batches', 'indexed_blocks']) {
    await tx.query(`delete from ${table} where block_number >= $1`, [fromBlock]);
  }
  const { rows: shreds } = await tx.query<{ record_id: Uint8Array; action: string }>(
    'delete from record_shred_events where block_number >= $1 returning record_id, action',
    [fromBlock],
  );
  const cancelled = shreds.filter((r) => r.action === 'cancelled');
  if (cancelled.length > 0) {
    await tx.query(
      `update records set state = 'pending_shred' where record_id = any($1) and state = 'active'`,
      [cancelled.map((r) => r.record_id)],
    );
  }
  return removed;
}

/**
 * Empties the index for a replay from scratch (a reset chain or a new deployment), inside the caller's
 * transaction. Returns the removed events. Tombstones stay: a destroyed key stays destroyed.
 */
export async function clearIndex(tx: SqlExecutor): Promise<RemovedEvent[]> {
  const removed = await rollbackFrom(tx, 0n);
  await tx.query('delete from grants');
  await tx.query('delete from grant_revocations_seen');
  await tx.query('delete from access_requests');
  return removed;
}
