import type { Address, Hex } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

export type EnqueueChainWriteParameters = {
  /** The transaction that writes the state this chain write belongs to. */
  tx: SqlExecutor;
  /** What the write is, e.g. `RecordRegistry.publishBatchSigned` (logs, errors). */
  kind: string;
  /** The same key enqueued twice is one write (the vault uses the EIP-712 digest of the signed message). */
  idempotencyKey: string;
  to: Address;
  data: Hex;
  /** Earliest time the outbox worker may send it (default now). */
  notBefore?: Date | undefined;
};

/** `true` if a new entry was written, `false` if the key was already queued. */
export type EnqueueChainWriteReturnType = boolean;

/**
 * Queues a relayed chain write in the durable outbox (`outbox` table, docs/storage.md), inside the caller's
 * transaction: the write exists if and only if the state that needs it was committed. The outbox worker signs,
 * sends, retries and confirms it.
 *
 * @example
 * await sql.transaction(async (tx) => { ...; await enqueueChainWrite({ tx, kind, idempotencyKey: digest, to, data }) });
 */
export async function enqueueChainWrite(
  parameters: EnqueueChainWriteParameters,
): Promise<EnqueueChainWriteReturnType> {
  const { tx, kind, idempotencyKey, to, data } = parameters;
  const { rowCount } = await tx.query(
    `insert into outbox (kind, idempotency_key, payload, next_attempt_at)
     values ($1, $2, $3::jsonb, coalesce($4::timestamptz, now()))
     on conflict (idempotency_key) do nothing returning id`,
    [kind, idempotencyKey, JSON.stringify({ to, data, value: '0' }), parameters.notBefore ?? null],
  );
  return rowCount === 1;
}
