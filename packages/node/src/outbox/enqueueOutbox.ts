import { OutboxError } from '@carekey/sdk/errors';
import { getAddress, isAddress, isHex } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';
import {
  OUTBOX_COLUMNS,
  type OutboxEntry,
  type OutboxPayload,
  type OutboxRow,
  toOutboxEntry,
} from './OutboxEntry.ts';

export type EnqueueOutboxParameters = {
  /** The transaction that changes the state this write belongs to (or the store itself). */
  sql: SqlExecutor;
  /** What the write is, e.g. `RecordRegistry.publishBatch`. */
  kind: string;
  /**
   * Names the write: enqueuing the same key again returns the first entry and adds
   * nothing. Derive it from what the write means (e.g. the EIP-712 digest it relays),
   * never from a clock or a random number.
   */
  idempotencyKey: string;
  payload: OutboxPayload;
};

export type EnqueueOutboxReturnType = {
  entry: OutboxEntry;
  /** `false` when the key was already there (nothing was added). */
  created: boolean;
};

/**
 * Adds a chain write to the durable outbox, in the caller's transaction: if the
 * transaction rolls back, the write never happens; once it commits, the outbox
 * worker sends it, retrying until it is mined or the contract refuses it.
 *
 * @throws {OutboxError} malformed payload, or the key is already used by a different write.
 * @example
 * await sql.transaction(async (tx) => {
 *   await tx.query('insert into record_batches ...', [...]);
 *   await enqueueOutbox({ sql: tx, kind: 'RecordRegistry.publishBatch', idempotencyKey: digest,
 *     payload: { to: registry, data: encodeFunctionData({ abi, functionName: 'publishBatch', args }) } });
 * });
 */
export async function enqueueOutbox(parameters: EnqueueOutboxParameters): Promise<EnqueueOutboxReturnType> {
  const { sql, kind, idempotencyKey, payload } = parameters;
  if (kind.trim() === '')
    throw new OutboxError('an outbox entry needs a kind', { hint: "e.g. 'RecordRegistry.publishBatch'" });
  if (idempotencyKey === '' || idempotencyKey.length > 200)
    throw new OutboxError(`invalid idempotency key for ${kind}: must be 1 to 200 characters`, {
      hint: 'derive it from what the write means, e.g. the digest of the signed message it relays',
    });
  if (!isAddress(payload.to, { strict: false }))
    throw new OutboxError(`invalid 'to' address ${JSON.stringify(payload.to)} for ${kind}`, {
      hint: 'a 0x-prefixed 20-byte address',
    });
  if (!isHex(payload.data, { strict: true }) || payload.data.length % 2 !== 0)
    throw new OutboxError(`invalid call data for ${kind}: not 0x-prefixed bytes`, {
      hint: 'encode the call with viem encodeFunctionData',
    });
  const value = payload.value ?? 0n;
  if (value < 0n) throw new OutboxError(`negative value ${value} for ${kind}`);
  const stored = JSON.stringify({
    to: getAddress(payload.to),
    data: payload.data.toLowerCase(),
    value: value.toString(),
  });

  const inserted = await sql.query<OutboxRow>(
    `insert into outbox (kind, idempotency_key, payload) values ($1, $2, $3::jsonb)
     on conflict (idempotency_key) do nothing returning ${OUTBOX_COLUMNS}`,
    [kind, idempotencyKey, stored],
  );
  const row = inserted.rows[0];
  if (row) return { entry: toOutboxEntry(row), created: true };

  const existing = await sql.query<OutboxRow>(
    `select ${OUTBOX_COLUMNS} from outbox where idempotency_key = $1`,
    [idempotencyKey],
  );
  const first = existing.rows[0];
  if (!first)
    // Inserted by a transaction that has not committed yet (or rolled back): the caller may retry.
    throw new OutboxError(
      `outbox key ${JSON.stringify(idempotencyKey)} is being written by another transaction`,
      {
        hint: 'retry the transaction',
      },
    );
  const entry = toOutboxEntry(first);
  if (
    entry.kind !== kind ||
    JSON.stringify({
      to: entry.payload.to,
      data: entry.payload.data,
      value: entry.payload.value?.toString(),
    }) !== stored
  )
    throw new OutboxError(
      `outbox key ${JSON.stringify(idempotencyKey)} is already used by a different write (${entry.kind} to ${entry.payload.to})`,
      { hint: 'an idempotency key must name one write: derive it from the whole payload' },
    );
  return { entry, created: false };
}
