import type { SqlExecutor } from '../db/Sql.ts';
import { OUTBOX_COLUMNS, type OutboxEntry, type OutboxRow, toOutboxEntry } from './OutboxEntry.ts';

export type GetOutboxEntryParameters = {
  sql: SqlExecutor;
  /** The key the write was enqueued with. */
  idempotencyKey: string;
};

/** The entry, or `undefined` when no write has this key. */
export type GetOutboxEntryReturnType = OutboxEntry | undefined;

/**
 * Reads where a chain write is (pending, submitted, confirmed with its block,
 * or failed with the decoded reason), e.g. to answer "is my batch on chain yet".
 *
 * @example
 * const entry = await getOutboxEntry({ sql, idempotencyKey: publishDigest });
 * if (entry?.status === 'failed') console.error(entry.lastError);
 */
export async function getOutboxEntry(
  parameters: GetOutboxEntryParameters,
): Promise<GetOutboxEntryReturnType> {
  const { rows } = await parameters.sql.query<OutboxRow>(
    `select ${OUTBOX_COLUMNS} from outbox where idempotency_key = $1`,
    [parameters.idempotencyKey],
  );
  return rows[0] ? toOutboxEntry(rows[0]) : undefined;
}
