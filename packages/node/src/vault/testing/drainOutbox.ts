import type { ChainClient } from '@carekey/sdk/chain';
import { type Address, type Hex, hexToBytes, type TransactionReceipt } from 'viem';
import type { Sql } from '../../db/Sql.ts';

/**
 * Test helper, not the outbox worker: sends every pending outbox entry, in order, from the relayer, waits for its
 * receipt and marks it confirmed. Lets vault tests put what the vault enqueued on the real chain.
 *
 * @throws {Error} an entry reverted (its kind is named).
 */
export async function drainOutbox(sql: Sql, client: ChainClient): Promise<TransactionReceipt[]> {
  const { rows } = await sql.query<{ id: bigint; kind: string; payload: { to: Address; data: Hex } }>(
    `select id, kind, payload from outbox where status = 'pending' order by id`,
  );
  const receipts: TransactionReceipt[] = [];
  for (const row of rows) {
    const hash = await client.sendTransaction({ to: row.payload.to, data: row.payload.data });
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`outbox entry ${row.id} (${row.kind}) reverted`);
    await sql.query(
      `update outbox set status = 'confirmed', tx_hash = $2, block_number = $3, updated_at = now() where id = $1`,
      [row.id, hexToBytes(hash), receipt.blockNumber],
    );
    receipts.push(receipt);
  }
  return receipts;
}
