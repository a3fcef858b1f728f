/** The node's chain indexer: Carekey contract events into SQL. See docs/indexer.md. */
export {
  type CreateIndexerParameters,
  type CreateIndexerReturnType,
  createIndexer,
  type Indexer,
  type IndexerChange,
  type IndexerListener,
  type SyncResult,
} from './createIndexer.ts';
export {
  decodeCarekeyLog,
  type EventPosition,
  type IndexedEvent,
  type IndexedEventName,
} from './IndexedEvent.ts';
export {
  type ReadIndexedEncryptionKeyParameters,
  type ReadIndexedEncryptionKeyReturnType,
  readIndexedEncryptionKey,
} from './readIndexedEncryptionKey.ts';
export {
  grantStateAt,
  type IndexedGrant,
  type IndexedGrantState,
  type ReadIndexedGrantParameters,
  type ReadIndexedGrantReturnType,
  readIndexedGrant,
} from './readIndexedGrant.ts';
export type { RemovedEvent } from './rollbackFrom.ts';
