import type { FileBlobStore } from '../blobs/FileBlobStore.ts';
import type { Sql } from '../db/Sql.ts';
import type { VaultChain } from './VaultChain.ts';

/**
 * Everything the key vault works with: its SQL store, the chain reader, the blob store and its settings. Every
 * vault function takes one (`{ vault, ... }`); the HTTP routes close over the node's.
 */
export type Vault = {
  sql: Sql;
  chain: VaultChain;
  blobs: FileBlobStore;
  /** This node's audience string (signed key requests must name it). */
  audience: string;
  /**
   * Blocks a grant must have (its own included) before its first release (T-5, asymmetric finality): 1 on the
   * embedded chain. Revocations and expiry apply at the head, at any depth.
   */
  confirmations: number;
  /** `RecordRegistry` shred delay, seconds of chain time (0 in tests). */
  shredDelay: number;
  /** Node clock in seconds, for signed-request freshness (tests inject it). */
  now?: (() => number) | undefined;
};
