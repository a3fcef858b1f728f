import type { ReadClient } from '@carekey/sdk/chain';
import {
  IndexerChainMismatchError,
  IndexerError,
  IndexerReorgRaceError,
  IndexerRpcError,
} from '@carekey/sdk/errors';
import { type Address, BlockNotFoundError, bytesToHex, type Hex, hexToBytes, type Log } from 'viem';
import { getBlock, getLogs } from 'viem/actions';
import type { ContractName, Deployment } from '../chain/Deployment.ts';
import type { Sql, SqlExecutor } from '../db/Sql.ts';
import { applyEvent } from './applyEvent.ts';
import { decodeCarekeyLog, type IndexedEvent } from './IndexedEvent.ts';
import { clearIndex, type RemovedEvent, rollbackFrom } from './rollbackFrom.ts';

/**
 * What a subscriber is told, inside the transaction that applies it:
 * - `event`: one decoded event, after its projection was written (e.g. `GrantRevoked`: `grants.revoked_block` is
 *   set; `Shredded`: `records.state` is `shredded`);
 * - `rollback`: a reorg removed everything from block `fromBlock` on (`removed`, oldest first);
 * - `reset`: the index was emptied for a replay from the deploy block (`reason`); `removed` as for a rollback.
 */
export type IndexerChange =
  | { kind: 'event'; event: IndexedEvent }
  | { kind: 'rollback'; fromBlock: bigint; removed: RemovedEvent[] }
  | { kind: 'reset'; reason: string; removed: RemovedEvent[] };

/**
 * A subscriber. It runs inside the indexer's transaction (`tx`): what it writes commits together with the events
 * and the cursor, or not at all. If it throws, the whole range is rolled back and retried on the next sync, so a
 * revocation cannot be passed over while the subscriber's work (deleting stanzas) fails. Idempotent work only:
 * the same event can be delivered again after such a retry.
 */
export type IndexerListener = (change: IndexerChange, tx: SqlExecutor) => void | Promise<void>;

export type CreateIndexerParameters = {
  /** The node's store, migrated with `migrate({ sql })` (the indexer's tables are `003_indexer.sql`). */
  sql: Sql;
  /** Any viem client that can read the chain (the node's `chain.client`). */
  client: ReadClient;
  /** The deployment to index (`startChain(...).deployment`). */
  deployment: Deployment;
  /** `startChain(...).reset`: drop the index and replay from the deploy block on the first sync. */
  reset?: boolean | undefined;
  /** Blocks a grant needs (its own included) before it counts (default 1, the embedded chain). */
  confirmations?: number | undefined;
  /** Milliseconds between polls of the loop (default 1000, the embedded chain's block time). */
  pollInterval?: number | undefined;
  /** Most blocks per `eth_getLogs` call and per transaction (default 2000); halved while the provider refuses. */
  maxBlockRange?: number | undefined;
  /** Range-end block hashes kept below the cursor to find a reorg's fork point (default 256 blocks). */
  reorgWindow?: number | undefined;
  /** Called with every error of the polling loop (default: one line on stderr). The loop retries after it. */
  onError?: ((error: unknown) => void) | undefined;
};

/** What one `syncOnce` did. */
export type SyncResult = {
  /** The chain head seen when the sync started. */
  head: bigint;
  /** The last block indexed now (the cursor). */
  lastBlock: bigint;
  /** Events applied by this sync. */
  events: number;
  /** Set when a reorg was found: the first block that was rolled back and re-read. */
  rolledBackFrom?: bigint | undefined;
  /** Set when the index was dropped and replayed from the deploy block. */
  reset?: string | undefined;
};

/** The chain indexer of a node. See docs/indexer.md. */
export type Indexer = {
  /** Blocks a grant needs before it counts (pass to `readIndexedGrant`). */
  readonly confirmations: number;
  /** Whether the polling loop runs. */
  readonly running: boolean;
  /**
   * Reads the chain up to its current head, now: detects a reset chain or a reorg first, then applies the new
   * blocks in ranges (one transaction each, with the cursor). Concurrent calls run one after the other; each
   * resolves after a sync that started after the call. The vault calls it before a decision that must see the
   * latest revocation.
   *
   * @throws {IndexerRpcError} the chain does not answer (nothing was applied after the last full range).
   * @throws {IndexerChainMismatchError} the chain is not the deployment's (restart the node).
   * @throws whatever a subscriber throws (its range is rolled back).
   */
  syncOnce(): Promise<SyncResult>;
  /** Starts the polling loop (idempotent): `syncOnce` every `pollInterval`, errors reported and retried with backoff. */
  start(): void;
  /** Stops the loop and waits for the running sync to finish. Idempotent. */
  stop(): Promise<void>;
  /** Adds a subscriber; returns the function that removes it. */
  subscribe(listener: IndexerListener): () => void;
};

export type CreateIndexerReturnType = Indexer;

type Cursor = {
  genesisHash: Hex;
  lastBlock: bigint;
  lastBlockHash: Hex;
  deployBlock: bigint | null;
  deployBlockHash: Hex | null;
  contracts: Address[];
};

type Header = { number: bigint; hash: Hex; parentHash: Hex };

const CONTRACT_NAMES: readonly ContractName[] = [
  'didRegistry',
  'recordRegistry',
  'consentRegistry',
  'recovery',
];

/**
 * Creates the indexer of one deployment: Carekey contract events from the deploy block into SQL (`chain_events`
 * and the projections `grants`, `access_requests`, `did_encryption_keys`, `did_owners`, `chain_batches`,
 * `record_shred_events`, `records.state`, `shred_tombstones`), resumable, reorg- and reset-aware.
 *
 * @example
 * const chain = await startChain({ dataDir, shredDelay });
 * const indexer = createIndexer({ sql, client: chain.client, deployment: chain.deployment, reset: chain.reset });
 * indexer.subscribe(async (change, tx) => { if (change.kind === 'event' && change.event.eventName === 'GrantRevoked') ... });
 * indexer.start();
 */
export function createIndexer(parameters: CreateIndexerParameters): CreateIndexerReturnType {
  const { sql, client, deployment } = parameters;
  const confirmations = parameters.confirmations ?? 1;
  if (!Number.isInteger(confirmations) || confirmations < 1)
    throw new IndexerError(`confirmations must be an integer ≥ 1, got ${confirmations}`);
  const pollInterval = parameters.pollInterval ?? 1000;
  const maxBlockRange = BigInt(parameters.maxBlockRange ?? 2000);
  const reorgWindow = BigInt(parameters.reorgWindow ?? 256);
  const onError =
    parameters.onError ??
    ((error: unknown) => console.error(`indexer: ${(error as Error)?.message ?? String(error)}`));
  const chainId = deployment.chainId;
  const deployBlock = BigInt(deployment.deployBlock);
  const addresses = CONTRACT_NAMES.map((name) => deployment.contracts[name].address);
  const contractOf = new Map<string, ContractName>(
    CONTRACT_NAMES.map((name) => [deployment.contracts[name].address.toLowerCase(), name]),
  );
  const listeners = new Set<IndexerListener>();
  let forceReset = parameters.reset === true;

  const rpc = async <result>(call: string, f: () => Promise<result>): Promise<result> => {
    try {
      return await f();
    } catch (cause) {
      throw new IndexerRpcError(call, { cause });
    }
  };
  const header = (blockNumber: bigint) =>
    rpc(`eth_getBlockByNumber(${blockNumber})`, async (): Promise<Header | undefined> => {
      try {
        const block = await getBlock(client, { blockNumber });
        return { number: block.number, hash: block.hash, parentHash: block.parentHash };
      } catch (error) {
        if (error instanceof BlockNotFoundError) return undefined;
        throw error;
      }
    });
  const notify = async (change: IndexerChange, tx: SqlExecutor) => {
    for (const listener of [...listeners]) await listener(change, tx);
  };

  const readCursor = async (): Promise<Cursor | undefined> => {
    const { rows } = await sql.query<{
      genesis_hash: Uint8Array;
      last_block: bigint;
      last_block_hash: Uint8Array;
      deploy_block: bigint | null;
      deploy_block_hash: Uint8Array | null;
      contracts: Uint8Array[] | null;
    }>(
      `select genesis_hash, last_block, last_block_hash, deploy_block, deploy_block_hash, contracts
       from chain_cursor where chain_id = $1`,
      [chainId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      genesisHash: bytesToHex(row.genesis_hash),
      lastBlock: row.last_block,
      lastBlockHash: bytesToHex(row.last_block_hash),
      deployBlock: row.deploy_block,
      deployBlockHash: row.deploy_block_hash ? bytesToHex(row.deploy_block_hash) : null,
      contracts: (row.contracts ?? []).map((c) => bytesToHex(c) as Address),
    };
  };
  const writeCursor = (tx: SqlExecutor, lastBlock: bigint, lastBlockHash: Hex) =>
    tx.query(
      `insert into chain_cursor
         (chain_id, genesis_hash, last_block, last_block_hash, deploy_block, deploy_block_hash, contracts, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, now())
       on conflict (chain_id) do update set genesis_hash = $2, last_block = $3, last_block_hash = $4,
         deploy_block = $5, deploy_block_hash = $6, contracts = $7, updated_at = now()`,
      [
        chainId,
        hexToBytes(deployment.genesisHash),
        lastBlock,
        hexToBytes(lastBlockHash),
        deployBlock,
        hexToBytes(deployment.deployBlockHash),
        addresses.map((a) => hexToBytes(a)),
      ],
    );

  /** Why the cursor cannot be continued on this deployment, or `undefined` if it can. */
  const replayReason = (cursor: Cursor | undefined): string | undefined => {
    if (!cursor) return 'first sync';
    if (forceReset) return 'the chain was reset (startChain reported reset)';
    if (cursor.genesisHash !== deployment.genesisHash)
      return `genesis hash is ${deployment.genesisHash}, the index was built on ${cursor.genesisHash}`;
    if (cursor.deployBlock !== deployBlock || cursor.deployBlockHash !== deployment.deployBlockHash)
      return `the contracts were redeployed at block ${deployBlock}`;
    const same = addresses.every((a, i) => cursor.contracts[i]?.toLowerCase() === a.toLowerCase());
    if (!same) return 'the contract addresses changed';
    return undefined;
  };

  /** The deployment must exist on the chain being read, or nothing the indexer writes would mean anything. */
  const checkChain = async () => {
    const genesis = await header(0n);
    if (genesis?.hash !== deployment.genesisHash)
      throw new IndexerChainMismatchError(
        `genesis hash is ${genesis?.hash ?? 'missing'}, the deployment's is ${deployment.genesisHash}`,
      );
    const deployed = await header(deployBlock);
    if (deployed?.hash !== deployment.deployBlockHash)
      throw new IndexerChainMismatchError(
        `block ${deployBlock} is ${deployed?.hash ?? 'missing'}, the deployment's is ${deployment.deployBlockHash}`,
      );
  };

  /** The highest indexed block the chain still has, scanning stored hashes downwards. */
  const findForkPoint = async (below: bigint, head: bigint): Promise<{ block: bigint; hash: Hex }> => {
    let upper = below;
    for (;;) {
      const { rows } = await sql.query<{ block_number: bigint; block_hash: Uint8Array }>(
        `select block_number, block_hash from indexed_blocks where block_number <= $1 and block_number >= $2
         order by block_number desc limit 64`,
        [upper, deployBlock],
      );
      for (const row of rows) {
        if (row.block_number > head) continue;
        const onChain = await header(row.block_number);
        if (onChain?.hash === bytesToHex(row.block_hash))
          return { block: row.block_number, hash: onChain.hash };
      }
      const last = rows.at(-1);
      if (!last || rows.length < 64) break;
      upper = last.block_number - 1n;
    }
    // Nothing indexed survived: start over from the deploy block (checkChain verified it is unchanged).
    const start = await header(deployBlock - 1n);
    if (!start) throw new IndexerChainMismatchError(`block ${deployBlock - 1n} is missing`);
    return { block: deployBlock - 1n, hash: start.hash };
  };

  const syncPass = async (): Promise<SyncResult> => {
    const headBlock = await rpc('eth_getBlockByNumber(latest)', () =>
      getBlock(client, { blockTag: 'latest' }),
    );
    const head = headBlock.number;
    let cursor = await readCursor();
    const result: SyncResult = { head, lastBlock: cursor?.lastBlock ?? deployBlock - 1n, events: 0 };

    const reason = replayReason(cursor);
    if (reason !== undefined) {
      await checkChain();
      const start = await header(deployBlock - 1n);
      if (!start) throw new IndexerChainMismatchError(`block ${deployBlock - 1n} is missing`);
      await sql.transaction(async (tx) => {
        const removed = await clearIndex(tx);
        await writeCursor(tx, start.number, start.hash);
        if (cursor) await notify({ kind: 'reset', reason, removed }, tx);
      });
      forceReset = false;
      if (cursor) result.reset = reason;
      cursor = await readCursor();
    } else if (cursor) {
      const atCursor = cursor.lastBlock <= head ? await header(cursor.lastBlock) : undefined;
      if (atCursor?.hash !== cursor.lastBlockHash) {
        // A reorg (or a chain that lost its last blocks, e.g. anvil killed before it saved its state).
        await checkChain();
        const fork = await findForkPoint(cursor.lastBlock, head);
        const fromBlock = fork.block + 1n;
        await sql.transaction(async (tx) => {
          const removed = await rollbackFrom(tx, fromBlock);
          await writeCursor(tx, fork.block, fork.hash);
          await notify({ kind: 'rollback', fromBlock, removed }, tx);
        });
        result.rolledBackFrom = fromBlock;
        cursor = await readCursor();
      }
    }
    if (!cursor) throw new IndexerError('the cursor was not written');

    let lastBlock = cursor.lastBlock;
    let lastHash = cursor.lastBlockHash;
    // Providers cap eth_getLogs (block span or result count): a refused range is halved and retried, then the
    // span grows back towards maxBlockRange.
    let range = maxBlockRange;
    while (lastBlock < head) {
      const from = lastBlock + 1n;
      const to = from + range - 1n < head ? from + range - 1n : head;
      const first = await header(from);
      if (!first || first.parentHash !== lastHash)
        throw new IndexerReorgRaceError(`block ${from} does not follow the indexed block ${lastBlock}`);
      const end = to === from ? first : await header(to);
      if (!end) throw new IndexerReorgRaceError(`block ${to} disappeared`);
      let logs: Log[];
      try {
        logs = await rpc(`eth_getLogs(${from}..${to})`, () =>
          getLogs(client, { address: addresses, fromBlock: from, toBlock: to }),
        );
      } catch (error) {
        if (to === from) throw error;
        range = (to - from + 1n) / 2n;
        continue;
      }
      // The hash of `to` commits to every block below it: unchanged after getLogs means the logs are its chain's.
      const endAgain = await header(to);
      if (endAgain?.hash !== end.hash)
        throw new IndexerReorgRaceError(`block ${to} changed while it was read`);
      const events = logs
        .flatMap((log) => {
          const contract = contractOf.get(log.address.toLowerCase());
          const event = contract ? decodeCarekeyLog(contract, log) : undefined;
          return event ? [event] : [];
        })
        .sort((a, b) =>
          a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
        );
      await sql.transaction(async (tx) => {
        const blocks = new Map<bigint, Hex>([[end.number, end.hash]]);
        for (const event of events) {
          blocks.set(event.blockNumber, event.blockHash);
          await applyEvent(tx, event);
          await notify({ kind: 'event', event }, tx);
        }
        for (const [number, hash] of blocks) {
          await tx.query(
            `insert into indexed_blocks (block_number, block_hash) values ($1, $2)
             on conflict (block_number) do update set block_hash = $2`,
            [number, hexToBytes(hash)],
          );
        }
        await tx.query(
          `delete from indexed_blocks where block_number < $1
             and not exists (select 1 from chain_events e where e.block_number = indexed_blocks.block_number)`,
          [end.number - reorgWindow],
        );
        await writeCursor(tx, end.number, end.hash);
      });
      result.events += events.length;
      lastBlock = end.number;
      lastHash = end.hash;
      result.lastBlock = lastBlock;
      range = range * 2n < maxBlockRange ? range * 2n : maxBlockRange;
    }
    return result;
  };

  const sync = async (): Promise<SyncResult> => {
    // A reorg while a range is read: the next pass finds it at the cursor and rolls back.
    for (let attempt = 1; ; attempt++) {
      try {
        return await syncPass();
      } catch (error) {
        if (!(error instanceof IndexerReorgRaceError) || attempt >= 3) throw error;
      }
    }
  };

  let queue: Promise<unknown> = Promise.resolve();
  const syncOnce = (): Promise<SyncResult> => {
    const run = queue.then(sync);
    queue = run.catch(() => {});
    return run;
  };

  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  return {
    confirmations,
    get running() {
      return loop !== undefined;
    },
    syncOnce,
    start() {
      if (loop) return;
      stopping = false;
      loop = (async () => {
        let failures = 0;
        const maxBackoff = Math.min(5_000, pollInterval * 10);
        while (!stopping) {
          try {
            await syncOnce();
            failures = 0;
          } catch (error) {
            failures++;
            try {
              onError(error);
            } catch {
              // A failing error reporter must not end the loop.
            }
          }
          if (stopping) break;
          await sleep(failures === 0 ? pollInterval : Math.min(pollInterval * 2 ** failures, maxBackoff));
        }
      })();
    },
    async stop() {
      stopping = true;
      wake?.();
      const running = loop;
      await running;
      loop = undefined;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
