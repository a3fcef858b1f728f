import type { ChainClient } from '@carekey/sdk/chain';
import type { FileBlobStore } from '../blobs/FileBlobStore.ts';
import type { Deployment } from '../chain/Deployment.ts';
import type { Sql } from '../db/Sql.ts';
import type { EmergencyServices } from '../emergency/EmergencyServices.ts';
import type { OutboxWorker } from '../outbox/createOutboxWorker.ts';
import type { Vault } from '../vault/Vault.ts';

/**
 * What route handlers may use. Handlers get nothing else: no raw request, no reply object, no database handle
 * they were not given here. A new subsystem (the vault, the indexer) adds its handle as a field.
 */
export interface ApiServices {
  /** The node's ledger: the relayer's client and the deployed contracts. */
  chain: {
    chainId: number;
    /** The relayer's read/write client (pays gas for relayed writes). */
    client: ChainClient;
    deployment: Deployment;
  };
  /** Content-addressed ciphertext store. */
  blobs: FileBlobStore;
  /** The node's SQL store (migrated). */
  sql: Sql;
  /** The chain-write outbox worker: enqueue in `sql`, then `wake()` it. */
  outbox: OutboxWorker;
  /** The key vault (records, stanzas, grants, access log) over the same SQL store, chain and blobs. */
  vault: Vault;
  /** This node's audience string: signed requests name it (`GET /v1/node`). */
  audience: string;
  /** The node software's version. */
  version: string;
  /** Break-glass: the node's emergency key, the Emergency contract, limits (absent: the routes answer 503). */
  emergency?: EmergencyServices | undefined;
}
