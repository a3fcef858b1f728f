/** The durable chain-write outbox (docs/storage.md). */
export {
  type CreateOutboxWorkerParameters,
  type CreateOutboxWorkerReturnType,
  createOutboxWorker,
  OUTBOX_LOCK_KEY,
  type OutboxTickReport,
  type OutboxWorker,
  type OutboxWorkerHooks,
} from './createOutboxWorker.ts';
export {
  type EnqueueOutboxParameters,
  type EnqueueOutboxReturnType,
  enqueueOutbox,
} from './enqueueOutbox.ts';
export {
  type GetOutboxEntryParameters,
  type GetOutboxEntryReturnType,
  getOutboxEntry,
} from './getOutboxEntry.ts';
export type { OutboxEntry, OutboxPayload, OutboxStatus } from './OutboxEntry.ts';
