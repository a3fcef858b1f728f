import { type Address, getAddress, type Hex } from 'viem';

/**
 * Where an outbox entry is:
 * - `pending`: waiting to be signed (first time, after an RPC failure, or after its nonce was taken by another transaction);
 * - `submitted`: signed, its hash, nonce and raw bytes recorded, broadcast (or about to be);
 * - `confirmed`: mined successfully (`blockNumber`);
 * - `failed`: the contract said no (a revert), with the decoded reason in `lastError`. Never retried.
 */
export type OutboxStatus = 'pending' | 'submitted' | 'confirmed' | 'failed';

/** The chain write itself: an encoded call. */
export type OutboxPayload = {
  /** Contract (or account) called. */
  to: Address;
  /** ABI-encoded call data (`encodeFunctionData`), `0x` for a plain transfer. */
  data: Hex;
  /** Wei sent with the call (default 0). */
  value?: bigint | undefined;
};

/** One durable chain write, as stored in the `outbox` table. */
export type OutboxEntry = {
  id: bigint;
  /** What the write is, e.g. `RecordRegistry.publishBatch` (shown in errors). */
  kind: string;
  /** The same key enqueued twice is one write. */
  idempotencyKey: string;
  payload: OutboxPayload;
  status: OutboxStatus;
  /** Times the entry was signed (a re-broadcast of the same signed transaction does not count). */
  attempts: number;
  sender: Address | undefined;
  nonce: bigint | undefined;
  txHash: Hex | undefined;
  blockNumber: bigint | undefined;
  lastError: string | undefined;
  nextAttemptAt: Date;
  createdAt: Date;
  updatedAt: Date;
};

/** Columns read into an {@link OutboxEntry}. */
export const OUTBOX_COLUMNS =
  'id, kind, idempotency_key, payload, status, attempts, sender, nonce, tx_hash, block_number, last_error, next_attempt_at, created_at, updated_at';

/** A row of `select ${OUTBOX_COLUMNS} from outbox`. */
export type OutboxRow = {
  id: bigint;
  kind: string;
  idempotency_key: string;
  payload: { to: Address; data: Hex; value: string };
  status: OutboxStatus;
  attempts: number;
  sender: Uint8Array | null;
  nonce: bigint | null;
  tx_hash: Uint8Array | null;
  block_number: bigint | null;
  last_error: string | null;
  next_attempt_at: Date;
  created_at: Date;
  updated_at: Date;
};

const hex = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString('hex')}`;

/** Turns a stored row into an {@link OutboxEntry}. */
export function toOutboxEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    payload: { to: row.payload.to, data: row.payload.data, value: BigInt(row.payload.value) },
    status: row.status,
    attempts: row.attempts,
    sender: row.sender ? getAddress(hex(row.sender)) : undefined,
    nonce: row.nonce ?? undefined,
    txHash: row.tx_hash ? hex(row.tx_hash) : undefined,
    blockNumber: row.block_number ?? undefined,
    lastError: row.last_error ?? undefined,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
