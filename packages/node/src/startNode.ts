import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  consentRegistryAbi,
  ethereumDidRegistryAbi,
  recordRegistryAbi,
  recoveryAbi,
  recoveryAccountAbi,
} from '@carekey/sdk/chain';
import { emergencyAbi } from '@carekey/sdk/emergency';
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
import { installNativeRecoverPublicKey } from './crypto/nativeSecp256k1.ts';
import { migrate } from './db/migrate.ts';
import { openSql } from './db/openSql.ts';
import type { Sql } from './db/Sql.ts';
import {
  type EmergencyServices,
  type EmergencySettings,
  loadEmergencySettings,
} from './emergency/EmergencyServices.ts';
import { loadEmergencyKey } from './emergency/loadEmergencyKey.ts';
import {
  type RotateEmergencyKeyReturnType,
  resumeEmergencyKeyRotation,
  rotateEmergencyKey,
} from './emergency/rotateEmergencyKey.ts';
import { startWebhookLoop } from './emergency/webhooks.ts';
import { createCredentialGate } from './identity/createCredentialGate.ts';
import { createIndexer, type Indexer } from './indexer/createIndexer.ts';
import { createOutboxWorker, type OutboxWorker } from './outbox/createOutboxWorker.ts';
import { cacheVaultChain } from './vault/cacheVaultChain.ts';
import { createVaultChain } from './vault/createVaultChain.ts';
import { finalizeDueShreds } from './vault/finalizeDueShreds.ts';
import { reapplyTombstones } from './vault/reapplyTombstones.ts';
import type { Vault } from './vault/Vault.ts';

/** A background loop of the node: the chain indexer, or the finalisation of due shreds. */
export type NodeLoop = 'indexer' | 'shreds' | 'webhooks';

/** Default milliseconds between two `finalizeDueShreds` runs. */
export const DEFAULT_SHRED_INTERVAL = 5_000;

/**
 * One stderr line for a background loop's error: the part and the error's class, never its message, which may
 * quote record ids, addresses or SQL values (no identifiers in logs, T-10). The loop retries after it.
 */
function logLoopError(loop: NodeLoop, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  process.stderr.write(`${JSON.stringify({ loop, error: name, retrying: true })}\n`);
}

/** How a node reaches its chain: embedded anvil options (port, block time…), or `{ rpcUrl, relayerKey }`. */
export type StartNodeChainParameters = StartChainParameters extends infer each
  ? each extends StartChainParameters
    ? Omit<each, 'dataDir' | 'shredDelay'>
    : never
  : never;

/** Default API port (`CAREKEY_PORT`). */
export const DEFAULT_API_PORT = 8787;

/** The built web portal the node serves at `/` (`npm run build:web`; `npm start` builds it when stale). */
export const DEFAULT_PORTAL_DIR: string = fileURLToPath(new URL('../../web/dist', import.meta.url));

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
  /** Release keys under a grant only to grantees holding a valid provider credential (docs/identity.md). */
  releaseRequiresCredential?: boolean | undefined;
  /** Blocks a grant needs (its own included) before its first key release (T-5; default 1). */
  confirmations?: number | undefined;
  /** Called with each error of the indexer or shred loop (both retry). Default: one stderr line, no identifiers. */
  onLoopError?: ((loop: NodeLoop, error: unknown) => void) | undefined;
  /** Milliseconds between two runs of `finalizeDueShreds` (default 5000). */
  shredInterval?: number | undefined;
  /** Milliseconds between two polls of the indexer (default 1000). */
  indexerPollInterval?: number | undefined;
  /** Break-glass limits and webhook rules (default: `loadEmergencySettings()` from the environment). */
  emergency?: Partial<EmergencySettings> | undefined;
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
        /** The built web portal served at `/` (default `packages/web/dist`; `null`: no portal). */
        portalDir?: string | null | undefined;
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
  /** The chain indexer (running). */
  indexer: Indexer;
  /** Where the embedded database lives, or `postgres` when a server is used. */
  database: string;
  blobs: FileBlobStore;
  audience: string;
  version: string;
  api: { url: string; openapi: OpenApiDocument };
  /**
   * Rotates the emergency key while the node serves: a new key, every emergency stanza re-wrapped to it, the old
   * key file replaced (docs/emergency.md, "Rotating the emergency key"; `npm start -- --rotate-emergency-key`).
   */
  rotateEmergencyKey(): Promise<RotateEmergencyKeyReturnType>;
  /**
   * Stops the API (in-flight requests finish), the shred loop, the outbox worker and the indexer, closes the
   * database, then stops the chain (state saved).
   */
  stop(): Promise<void>;
};

export type StartNodeReturnType = CarekeyNode;

/**
 * Starts a Carekey node: the chain (embedded anvil or `rpcUrl`) with the contracts, the SQL store (PGlite in
 * `<dataDir>/pg`, migrated), the chain indexer, the outbox worker relaying queued chain writes, the vault (shred
 * tombstones re-applied before the API serves, F-8; due shreds finalised every `shredInterval`), the blob store in
 * `<dataDir>/blobs`, and the HTTP API on loopback. On failure, whatever was started is stopped again.
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
  // Signed requests (one signature recovery each) checked with libsecp256k1 where its prebuilt binding loads.
  installNativeRecoverPublicKey();
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
    const onLoopError = parameters.onLoopError ?? logLoopError;
    // The indexer reads the contracts' events into SQL; a reset chain (`chain.reset`) means a replay from scratch.
    const indexer = createIndexer({
      sql,
      client: chain.client,
      deployment: chain.deployment,
      reset: chain.reset,
      confirmations: parameters.confirmations ?? 1,
      pollInterval: parameters.indexerPollInterval,
      onError: (error) => onLoopError('indexer', error),
    });
    indexer.start();
    cleanups.push(() => indexer.stop());
    // Every relayed write goes through the durable outbox: retried, never lost, never doubled (DESIGN.md, Chain).
    const outbox = createOutboxWorker({
      sql,
      client: chain.client,
      abi: [
        ...ethereumDidRegistryAbi,
        ...recordRegistryAbi,
        ...consentRegistryAbi,
        ...recoveryAbi,
        ...recoveryAccountAbi,
        ...emergencyAbi,
      ],
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
    // Chain reads at the head once per block (T-4, T-24); the head itself is read for every decision, over the
    // embedded anvil's WebSocket (createVaultChain's `headSocketUrl`).
    const chainReader = createVaultChain({
      client: chain.client,
      chainId: chain.chainId,
      contracts: {
        didRegistry: contracts.didRegistry.address,
        recordRegistry: contracts.recordRegistry.address,
        consentRegistry: contracts.consentRegistry.address,
      },
      fromBlock: BigInt(deployBlock),
      headSocketUrl: chain.anvil === undefined ? undefined : chain.rpcUrl.replace(/^http/u, 'ws'),
    });
    cleanups.push(() => chainReader.close());
    const vaultChain = cacheVaultChain(chainReader);
    const vault: Vault = {
      sql,
      chain: vaultChain,
      blobs,
      audience,
      confirmations: parameters.confirmations ?? 1,
      shredDelay,
    };
    if (parameters.releaseRequiresCredential) {
      vault.checkGrantee = createCredentialGate(
        { sql, chain: { chainId: chain.chainId, client: chain.client, deployment: chain.deployment } },
        vaultChain,
      );
    }
    // A restored backup may hold keys of records shredded since: destroy them before serving (F-8, T-28). If the
    // chain cannot be read, the node does not start.
    await reapplyTombstones({ vault });
    const shreds = startShredLoop({
      run: () => finalizeDueShreds({ vault }),
      interval: parameters.shredInterval ?? DEFAULT_SHRED_INTERVAL,
      onError: (error) => onLoopError('shreds', error),
    });
    cleanups.push(() => shreds.stop());

    // Break-glass (docs/emergency.md): the node's emergency key and the webhook deliveries of its notifications.
    // A key rotation a crash interrupted is finished before anything is served (docs/emergency.md).
    await resumeEmergencyKeyRotation({ dataDir, sql });
    const emergencyKey = loadEmergencyKey(dataDir);
    const emergencySettings = { ...loadEmergencySettings(), ...parameters.emergency };
    const webhooks = startWebhookLoop({
      sql,
      settings: emergencySettings,
      onError: (e) => onLoopError('webhooks', e),
    });
    cleanups.push(() => webhooks.stop());
    const services: ApiServices = {
      emergency: {
        identity: emergencyKey,
        recipient: emergencyKey.recipient.toString(),
        contract: contracts.emergency.address,
        settings: emergencySettings,
        wakeWebhooks: () => webhooks.wake(),
      },
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
      ...(api.portalDir === null ? {} : { portal: { dir: api.portalDir ?? DEFAULT_PORTAL_DIR } }),
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
      indexer,
      database: sql.engine === 'pglite' ? join(dataDir, 'pg') : 'postgres',
      blobs,
      audience,
      version: NODE_VERSION,
      api: { url, openapi: server.openapi },
      rotateEmergencyKey: () =>
        rotateEmergencyKey({ dataDir, sql, emergency: services.emergency as EmergencyServices }),
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

/**
 * Runs `run` now and then every `interval` ms until stopped; a failed run is reported and retried next time.
 * Runs never overlap; `stop` waits for the one in progress.
 */
function startShredLoop(parameters: {
  run: () => Promise<unknown>;
  interval: number;
  onError: (error: unknown) => void;
}): { stop(): Promise<void> } {
  const { run, interval, onError } = parameters;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      try {
        await run();
      } catch (error) {
        try {
          onError(error);
        } catch {
          // A failing error reporter must not end the loop.
        }
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, interval);
      });
    }
  })();
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
