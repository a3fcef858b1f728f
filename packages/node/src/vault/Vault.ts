import type { Address } from 'viem';
import type { FileBlobStore } from '../blobs/FileBlobStore.ts';
import type { Sql } from '../db/Sql.ts';
import type { ChainHead, VaultChain } from './VaultChain.ts';

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
  /**
   * An extra check of a grantee before any release under a grant (e.g. `createCredentialGate`: a valid provider
   * credential), given the head the release decides at; its refusal reason is logged as `credential-<reason>` and
   * the release refused. Unset: no check.
   */
  checkGrantee?: ((grantee: Address, head?: ChainHead) => Promise<string | undefined>) | undefined;
  /** Node clock in seconds, for signed-request freshness (tests inject it). */
  now?: (() => number) | undefined;
};
