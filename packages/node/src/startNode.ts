import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { consentRegistryAbi, ethereumDidRegistryAbi, recordRegistryAbi } from '@carekey/sdk/chain';
import { ApiListenError } from './api/ApiListenError.ts';
import type { ApiServices } from './api/ApiServices.ts';
import type { OpenApiDocument } from './api/buildOpenApiDocument.ts';
import { type ApiLogEntry, createApiServer } from './api/createApiServer.ts';
import { createSqlNonceStore } from './api/createSqlNonceStore.ts';
import type { AnyRoute } from './api/defineRoute.ts';
import { loadAudience } from './api/loadAudience.ts';
import { routes as defaultRoutes } from './api/routes/index.ts';
import { FileBlobStore } from './blobs/FileBlobStore.ts';
import { type Chain, type StartChainParameters, startChain } from './chain/startChain.ts';
import { migrate } from './db/migrate.ts';
import { openSql } from './db/openSql.ts';
import type { Sql } from './db/Sql.ts';
import { createOutboxWorker, type OutboxWorker } from './outbox/createOutboxWorker.ts';
import { createVaultChain } from './vault/createVaultChain.ts';
import type { Vault } from './vault/Vault.ts';

/** How a node reaches its chain: embedded anvil options (port, block time…), or `{ rpcUrl, relayerKey }`. */
export type StartNodeChainParameters = StartChainParameters extends infer each
  ? each extends StartChainParameters
    ? Omit<each, 'dataDir' | 'shredDelay'>
    : never
  : never;

/** Default API port (`CAREKEY_PORT`). */
export const DEFAULT_API_PORT = 8787;

/** The node software's version (from `packages/node/package.json`). */
export const NODE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export type StartNodeParameters = {
  /** The node's data folder (`CAREKEY_DATA`). */
  dataDir: string;
  /** RecordRegistry's shred delay in seconds (fixed at deployment). */
  shredDelay: number;
  /** How to reach the chain: embedded anvil options, or `{ rpcUrl, relayerKey }`. Default: embedded. */
  chain?: StartNodeChainParameters | undefined;
  /** A PostgreSQL server instead of the embedded PGlite in `<dataDir>/pg`. */
  databaseUrl?: string | undefined;
  /** Called with each error the outbox worker meets in the background (it retries them). */
  onOutboxError?: ((error: unknown) => void) | undefined;
  /** Blocks a grant needs (its own included) before its first key release (T-5; default 1). */
  confirmations?: number | undefined;
  api?:
    | {
        /** Loopback port of the API (default 8787; 0 = any free port). */
        port?: number | undefined;
        /** Interface to bind (default `127.0.0.1`: put a TLS terminator in front for anything else, R-9). */
        host?: string | undefined;
        /** Exact origins allowed to call from a browser (default none). */
        corsOrigins?: readonly string[] | undefined;
        /** Largest blob in bytes (default 2 GiB). */
        maxBlobBytes?: number | undefined;
        /** Route table (default: every node route). */
        routes?: readonly AnyRoute[] | undefined;
        /** Where request log lines go (default nowhere). */
        log?: ((entry: ApiLogEntry) => void) | undefined;
      }
    | undefined;
};

/** A running node. */
export type CarekeyNode = {
  dataDir: string;
  chain: Chain;
  sql: Sql;
  vault: Vault;
  /** The chain-write outbox worker (running). */
  outbox: OutboxWorker;
  /** Where the embedded database lives, or `postgres` when a server is used. */
  database: string;
  blobs: FileBlobStore;
  audience: string;
  version: string;
  api: { url: string; openapi: OpenApiDocument };
  /** Stops the API (in-flight requests finish), the outbox worker, closes the database, then stops the chain (state saved). */
  stop(): Promise<void>;
};

export type StartNodeReturnType = CarekeyNode;

/**
 * Starts a Carekey node: the chain (embedded anvil or `rpcUrl`) with the contracts, the SQL store (PGlite in
 * `<dataDir>/pg`, migrated), the outbox worker relaying queued chain writes, the vault, the blob store in `<dataDir>/blobs`, and the HTTP API on loopback. On failure,
 * whatever was started is stopped again.
 *
 * @throws {ChainConfigError | ChainError | DataDirError | StorageError | MigrationError} from each part;
 *   `ApiListenError` when the API port is taken.
 * @example
 * const node = await startNode({ dataDir: '.carekey/node', shredDelay: 86_400, api: { port: 0 } });
 * console.log(node.api.url); // http://127.0.0.1:54321
 * await node.stop();
 */
export async function startNode(parameters: StartNodeParameters): Promise<StartNodeReturnType> {
  const { dataDir, shredDelay } = parameters;
  const cleanups: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const chain = await startChain({
      ...(parameters.chain ?? {}),
      dataDir,
      shredDelay,
    } as StartChainParameters);
    cleanups.push(() => chain.stop());

    const sql = await openSql({ dataDir, databaseUrl: parameters.databaseUrl });
    cleanups.push(() => sql.close());
    await migrate({ sql });
    // Every relayed write goes through the durable outbox: retried, never lost, never doubled (DESIGN.md, Chain).
    const outbox = createOutboxWorker({
      sql,
      client: chain.client,
      abi: [...ethereumDidRegistryAbi, ...recordRegistryAbi, ...consentRegistryAbi],
      onError: parameters.onOutboxError,
    });
    outbox.start();
    cleanups.push(() => outbox.stop());

    const api = parameters.api ?? {};
    const blobs = await FileBlobStore.open({
      dir: join(dataDir, 'blobs'),
      ...(api.maxBlobBytes !== undefined ? { maxBlobBytes: api.maxBlobBytes } : {}),
    });
    const audience = loadAudience({ dataDir });
    const { contracts, deployBlock } = chain.deployment;
    const vault: Vault = {
      sql,
      chain: createVaultChain({
        client: chain.client,
        chainId: chain.chainId,
        contracts: {
          didRegistry: contracts.didRegistry.address,
          recordRegistry: contracts.recordRegistry.address,
          consentRegistry: contracts.consentRegistry.address,
        },
        fromBlock: BigInt(deployBlock),
      }),
      blobs,
      audience,
      confirmations: parameters.confirmations ?? 1,
      shredDelay,
    };
    const services: ApiServices = {
      chain: { chainId: chain.chainId, client: chain.client, deployment: chain.deployment },
      blobs,
      sql,
      vault,
      outbox,
      audience,
      version: NODE_VERSION,
    };
    const server = createApiServer({
      services,
      routes: api.routes ?? defaultRoutes,
      nonces: createSqlNonceStore({ sql }),
      corsOrigins: api.corsOrigins,
      log: api.log,
    });
    const host = api.host ?? '127.0.0.1';
    const port = api.port ?? DEFAULT_API_PORT;
    try {
      await server.app.listen({ host, port });
    } catch (cause) {
      throw new ApiListenError(host, port, { cause });
    }
    cleanups.push(() => server.app.close());
    const address = server.app.server.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    let stopped: Promise<void> | undefined;
    return {
      dataDir,
      chain,
      sql,
      vault,
      outbox,
      database: sql.engine === 'pglite' ? join(dataDir, 'pg') : 'postgres',
      blobs,
      audience,
      version: NODE_VERSION,
      api: { url, openapi: server.openapi },
      stop: () => {
        stopped ??= undo();
        return stopped;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
