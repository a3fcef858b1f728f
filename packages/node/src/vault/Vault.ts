import type { Address } from 'viem';
import type { FileBlobStore } from '../blobs/FileBlobStore.ts';
import type { Sql, SqlExecutor } from '../db/Sql.ts';
import type { ChainHead, VaultChain } from './VaultChain.ts';

/**
 * A check of a grantee before a key release: the refusal reason, or `undefined` to release. `head` is the block
 * the release decides at (chain reads are made there); `sql` the release's transaction, which SQL reads go
 * through (the store's own connection otherwise). `warm(head)`, optional, starts the chain reads a check at that
 * head will need (never decides anything: the check itself still reads at its head). `many`, optional, is the same
 * check for several grantees at once (a batch of releases sharing a transaction), its SQL reads in one statement:
 * one settled answer per entry, in order (a rejected entry fails only its release); without it a batch calls the
 * check once per release.
 */
export type GranteeCheck = ((
  grantee: Address,
  head?: ChainHead,
  sql?: SqlExecutor,
) => Promise<string | undefined>) & {
  warm?: ((head: ChainHead) => void) | undefined;
  many?:
    | ((
        checks: readonly { grantee: Address; head?: ChainHead | undefined }[],
        sql?: SqlExecutor,
      ) => Promise<PromiseSettledResult<string | undefined>[]>)
    | undefined;
};

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
   * credential), given the head the release decides at and the release's transaction (its SQL reads go through it:
   * one store connection, no wait behind the transaction in progress); its refusal reason is logged as
   * `credential-<reason>` and the release refused. `warm`, when present, is called before the transaction with
   * that head, to start the check's chain reads. Unset: no check.
   */
  checkGrantee?: GranteeCheck | undefined;
  /** Node clock in seconds, for signed-request freshness (tests inject it). */
  now?: (() => number) | undefined;
};
