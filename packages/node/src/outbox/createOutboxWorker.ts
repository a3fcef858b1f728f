import { OutboxError } from '@carekey/sdk/errors';
import {
  type Abi,
  type Account,
  type Address,
  BlockNotFoundError,
  type Chain,
  type Client,
  type Hex,
  hexToBytes,
  keccak256,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
  type TransactionSerializable,
  type Transport,
} from 'viem';
import {
  call,
  estimateGas,
  getBlock,
  getBlockNumber,
  getTransactionCount,
  getTransactionReceipt,
  prepareTransactionRequest,
  sendRawTransaction,
} from 'viem/actions';
import type { Sql } from '../db/Sql.ts';
import { OUTBOX_COLUMNS, type OutboxEntry, type OutboxRow, toOutboxEntry } from './OutboxEntry.ts';
import { toOutboxRevertError } from './toOutboxRevertError.ts';

/** Failure points a test can hook to kill the process at the worst moment (F-2/F-4 style fault injection). */
export type OutboxWorkerHooks = {
  /** Signed transactions are recorded (committed) but not yet broadcast. */
  afterRecord?: ((entries: readonly OutboxEntry[]) => void | Promise<void>) | undefined;
  /** Signed transactions were broadcast; their receipts are not checked yet. */
  afterBroadcast?: ((entries: readonly OutboxEntry[]) => void | Promise<void>) | undefined;
};

export type CreateOutboxWorkerParameters = {
  sql: Sql;
  /**
   * The relayer's viem client, with a **local** account (private key or mnemonic):
   * the worker signs each transaction itself so it can record its hash before
   * anything reaches the network.
   */
  client: Client<Transport, Chain | undefined, Account>;
  /** ABIs of the contracts written to, to decode custom revert errors (`Error(string)` and panics decode without). */
  abi?: Abi | undefined;
  /** Entries signed per tick (default 16). */
  batchSize?: number | undefined;
  /** Idle wait between ticks of `start()` (default 1 s). */
  pollIntervalMs?: number | undefined;
  /** First retry delay after an RPC failure, doubled each time up to `maxBackoffMs` (default 500 ms). */
  minBackoffMs?: number | undefined;
  /** Longest retry delay (default 30 s). */
  maxBackoffMs?: number | undefined;
  /**
   * How long a submitted write whose nonce is used but whose receipt the chain does not serve is given before it is
   * judged dropped and signed again, when no new block came meanwhile (default 10 s; a new block settles it sooner).
   */
  droppedAfterMs?: number | undefined;
  /** Fault-injection points (tests). */
  hooks?: OutboxWorkerHooks | undefined;
  /** Called with each error a background tick meets (they are retried; default: ignore). */
  onError?: ((error: unknown) => void) | undefined;
};

/** What one {@link OutboxWorker.tick} did. */
export type OutboxTickReport = {
  /** Entries signed and recorded (then broadcast) this tick. */
  submitted: OutboxEntry[];
  /** Entries found mined successfully. */
  confirmed: OutboxEntry[];
  /** Entries the contract refused, for good. */
  failed: OutboxEntry[];
  /** Entries put back to pending after an RPC failure or a lost nonce. */
  retried: OutboxEntry[];
  /** Entries still submitted and not yet mined (re-broadcast). */
  waiting: OutboxEntry[];
  /**
   * Entries found confirmed (or failed once mined) in a block the chain no longer has — a chain node restarted
   * from an older saved state, or a reorg: back to submitted, their same signed bytes sent again.
   */
  reopened: OutboxEntry[];
  /**
   * Entries the chain refuses for now while earlier entries are still unresolved (e.g. a revoke whose grant is
   * not mined yet): kept pending, estimated again once those are mined; failed if they still revert then.
   */
  deferred: OutboxEntry[];
};

/** The worker that drains the outbox. */
export type OutboxWorker = {
  /** The relayer address (sender of every transaction). */
  readonly sender: Address;
  /**
   * One pass: confirm or re-broadcast what was submitted, then sign, record and
   * broadcast the due pending entries.
   *
   * @throws {ChainError|Error} the chain cannot be reached (nothing is lost: the next tick resumes).
   */
  tick(): Promise<OutboxTickReport>;
  /** Runs ticks in the background until `stop()`; RPC failures back off exponentially. */
  start(): void;
  /** Runs the next background tick now (after an enqueue). */
  wake(): void;
  /** Stops the background loop after the current tick. */
  stop(): Promise<void>;
};

export type CreateOutboxWorkerReturnType = OutboxWorker;

/** `pg_advisory_xact_lock` key serialising the signers of one database ("ckoutbox"). */
export const OUTBOX_LOCK_KEY = 0x636b6f7574n;

/**
 * Creates the outbox worker: chain writes retried, never lost, never doubled.
 *
 * Each pending entry is signed with an explicit nonce, and its nonce, hash and
 * raw bytes are committed **before** the transaction is broadcast. After any
 * crash, the next tick looks the recorded hash up first: mined → confirmed (or
 * failed, if it reverted); unknown to the chain → the *same* signed bytes are
 * broadcast again, which can only be mined once; its nonce taken by another
 * transaction and still no receipt once a later block is there → it can never be mined, so it is signed anew
 * (anvil applies a block's state a moment before it serves the block's receipts: judged at once, a mined write
 * would look dropped, be signed again and fail, e.g. `InvalidNonce` for a relayed signature already used).
 * A revert (at gas estimation or once mined) is a permanent failure with the
 * decoded error in `last_error`; transport errors are retried with backoff.
 *
 * Dependent writes in one pass (a grant then its revoke; two relayed signatures
 * of one identity with consecutive nonces) all land, in order: gas is estimated
 * against the `pending` state (which holds what this worker already broadcast),
 * and a pass broadcasts what it signed before it estimates a write that reverts
 * after something signed in the same pass. A write that reverts while an
 * earlier entry is still pending or in flight is deferred, not failed; once
 * every earlier entry is mined or failed, a revert is final. Writes after a
 * deferred one go on.
 *
 * A mined write's block hash and the chain's genesis hash are kept: if the chain
 * later lacks that block (anvil restarted from a state saved before it, a
 * reorg), the entry goes back to submitted and its stored signed bytes are sent
 * again — same hash, so never doubled. A different genesis (a wiped chain) is
 * another chain: nothing of the old one is sent to it.
 *
 * One relayer account per outbox: other senders using that account would make
 * its nonces unpredictable (still never doubled, but re-signed).
 *
 * @throws {OutboxError} the client has no local account.
 * @example
 * const worker = createOutboxWorker({ sql, client: relayerClient, abi: [...recordRegistryAbi, ...consentRegistryAbi] });
 * worker.start();
 */
export function createOutboxWorker(parameters: CreateOutboxWorkerParameters): CreateOutboxWorkerReturnType {
  const { sql, client, abi, hooks } = parameters;
  const account = client.account;
  if (account?.type !== 'local' || !account.signTransaction)
    throw new OutboxError('the outbox worker needs a client with a local account', {
      hint: 'create the client with privateKeyToAccount(key) or mnemonicToAccount(phrase): the worker signs before it sends',
    });
  const signTransaction = account.signTransaction.bind(account);
  const sender = account.address;
  const senderBytes = hexToBytes(sender);
  const batchSize = parameters.batchSize ?? 16;
  const minBackoff = parameters.minBackoffMs ?? 500;
  const maxBackoff = parameters.maxBackoffMs ?? 30_000;
  const backoff = (attempt: number) => Math.min(maxBackoff, minBackoff * 2 ** Math.max(0, attempt - 1));
  const droppedAfter = parameters.droppedAfterMs ?? 10_000;
  /**
   * Submitted writes seen with their nonce used and no receipt: the head read right after that nonce, and when.
   * anvil applies a mined block's state before it stores the block's receipts (and only then moves its head), so
   * for a moment a mined write looks dropped. A write is judged dropped only when it still has no receipt once the
   * chain's head has passed the one seen then (the block being stored at that moment is then fully stored).
   */
  const suspects = new Map<bigint, { head: bigint; at: number }>();

  const update = async (
    id: bigint,
    expectedStatus: string,
    set: string,
    params: readonly unknown[],
  ): Promise<OutboxEntry | undefined> => {
    const { rows } = await sql.query<OutboxRow>(
      `update outbox set ${set}, updated_at = now() where id = $1 and status = $2 returning ${OUTBOX_COLUMNS}`,
      [id, expectedStatus, ...params],
    );
    return rows[0] ? toOutboxEntry(rows[0]) : undefined;
  };

  const describe = (error: unknown) =>
    (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

  let genesis: Uint8Array | undefined;
  const readGenesis = async (): Promise<Uint8Array> => {
    genesis = hexToBytes((await getBlock(client, { blockNumber: 0n })).hash);
    return genesis;
  };
  const header = async (blockNumber: bigint): Promise<Hex | undefined> => {
    try {
      return (await getBlock(client, { blockNumber })).hash;
    } catch (error) {
      if (error instanceof BlockNotFoundError) return undefined;
      throw error;
    }
  };

  /**
   * Step 0: are the blocks mined writes landed in still on the chain? Newest first; the first block still there
   * vouches for every block below it (a block hash commits to its ancestors), so a healthy chain costs one read.
   */
  const recheckMined = async (report: OutboxTickReport) => {
    let current = genesis ?? (await readGenesis());
    let below: bigint | null = null;
    for (;;) {
      const mined = await sql.query<{ block_number: bigint; block_hash: Uint8Array }>(
        `select distinct block_number, block_hash from outbox
         where status in ('confirmed', 'failed') and sender = $1 and genesis_hash = $2 and block_hash is not null
           and ($3::int8 is null or block_number < $3)
         order by block_number desc limit 16`,
        [senderBytes, current, below],
      );
      const rows: { block_number: bigint; block_hash: Uint8Array }[] = mined.rows;
      if (rows.length === 0) return;
      for (const row of rows) {
        const onChain = await header(row.block_number);
        if (onChain !== undefined && onChain === bytesToHex(row.block_hash)) return;
        if (below === null) {
          // First surprise of this pass: a wiped chain (new genesis) is not ours to fill with old writes.
          const before = current;
          current = await readGenesis();
          if (Buffer.compare(before, current) !== 0) return;
        }
        const { rows: lost } = await sql.query<OutboxRow>(
          `update outbox set status = 'submitted', block_number = null, block_hash = null, genesis_hash = null,
             last_error = $4, updated_at = now()
           where status in ('confirmed', 'failed') and sender = $1 and block_number = $2 and block_hash = $3
             and tx_hash is not null and raw_tx is not null and nonce is not null
           returning ${OUTBOX_COLUMNS}`,
          [
            senderBytes,
            row.block_number,
            row.block_hash,
            `block ${row.block_number} (${bytesToHex(row.block_hash)}) is no longer on the chain: sending the same signed transaction again`,
          ],
        );
        report.reopened.push(...lost.map(toOutboxEntry));
        below = row.block_number as bigint;
      }
    }
  };

  /** Step 1: what happened to the transactions already signed? */
  const reconcile = async (report: OutboxTickReport) => {
    await recheckMined(report);
    const { rows } = await sql.query<OutboxRow & { raw_tx: Uint8Array }>(
      `select ${OUTBOX_COLUMNS}, raw_tx from outbox where status = 'submitted' and sender = $1 order by nonce`,
      [senderBytes],
    );
    if (rows.length === 0) return;
    // Nonce first, head second, receipts last: a transaction mined between the reads shows a receipt, except in
    // the moment between a block's state and its receipts (see `suspects`), which the head read tells apart.
    const mined = BigInt(await getTransactionCount(client, { address: sender, blockTag: 'latest' }));
    const head = await getBlockNumber(client, { cacheTime: 0 });
    const submitted = new Set(rows.map((row) => row.id));
    for (const id of suspects.keys()) if (!submitted.has(id)) suspects.delete(id);
    for (const row of rows) {
      const entry = toOutboxEntry(row);
      const hash = entry.txHash as Hex;
      let receipt: TransactionReceipt | undefined;
      try {
        receipt = await getTransactionReceipt(client, { hash });
      } catch (error) {
        if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
      }
      const suspect = suspects.get(entry.id);
      if (receipt || !(mined > (entry.nonce as bigint))) suspects.delete(entry.id);
      if (receipt) {
        if (receipt.status === 'success') {
          const done = await update(
            entry.id,
            'submitted',
            `status = 'confirmed', block_number = $3, block_hash = $4, genesis_hash = $5, last_error = null`,
            [receipt.blockNumber, hexToBytes(receipt.blockHash), genesis ?? (await readGenesis())],
          );
          if (done) report.confirmed.push(done);
        } else {
          const reason = await revertReason(entry, receipt.blockNumber);
          const done = await update(
            entry.id,
            'submitted',
            `status = 'failed', block_number = $3, block_hash = $5, genesis_hash = $6, last_error = $4`,
            [receipt.blockNumber, reason, hexToBytes(receipt.blockHash), genesis ?? (await readGenesis())],
          );
          if (done) report.failed.push(done);
        }
      } else if (mined > (entry.nonce as bigint)) {
        if (suspect === undefined || (head <= suspect.head && Date.now() - suspect.at < droppedAfter)) {
          // Maybe mined in the block anvil is storing right now: look again once a later block is there.
          if (suspect === undefined) suspects.set(entry.id, { head, at: Date.now() });
          report.waiting.push(entry);
          continue;
        }
        suspects.delete(entry.id);
        // Its nonce is used and it still has no receipt a block later: another transaction took the nonce, so this
        // one can never be mined. Signing it again (new nonce) cannot double it.
        const done = await update(
          entry.id,
          'submitted',
          `status = 'pending', tx_hash = null, nonce = null, raw_tx = null, sender = null, last_error = $3, next_attempt_at = now()`,
          [
            `transaction ${hash} was dropped: nonce ${entry.nonce} was used by another transaction; signing again`,
          ],
        );
        if (done) report.retried.push(done);
      } else {
        // Not mined (mempool, or lost when the chain node restarted): send the same bytes again.
        try {
          await sendRawTransaction(client, { serializedTransaction: bytesToHex(row.raw_tx) });
        } catch (error) {
          // "already known" / "nonce too low" are expected here; anything else is kept for the operator.
          await update(entry.id, 'submitted', 'last_error = $3', [`re-broadcast: ${describe(error)}`]);
        }
        report.waiting.push(entry);
      }
    }
  };

  /** Replays a mined-but-reverted transaction to name the error. */
  const revertReason = async (entry: OutboxEntry, blockNumber: bigint): Promise<string> => {
    try {
      await call(client, {
        account: sender,
        to: entry.payload.to,
        data: entry.payload.data,
        value: entry.payload.value ?? 0n,
        blockNumber,
      });
    } catch (error) {
      const revert = toOutboxRevertError(entry.kind, error, abi);
      if (revert) return revert.message;
    }
    return `${entry.kind} reverted in block ${blockNumber} (the reason could not be replayed)`;
  };

  /**
   * Step 2: sign, record and broadcast due pending entries, in rounds. A round signs entries in id order in one
   * transaction holding the signer lock, commits, then broadcasts them; an entry that reverts at estimation after
   * something was signed in the same round ends the round (it may depend on what is not broadcast yet) and starts
   * the next one, estimated against the `pending` state that now holds the round's transactions.
   */
  const signDue = async (report: OutboxTickReport) => {
    let budget = batchSize;
    const deferred = new Set<bigint>();
    while (budget > 0) {
      const round = await signRound(report, budget, deferred);
      budget -= round.signed.length;
      if (round.signed.length === 0) return;
      // Committed: whatever happens from here on, the next tick knows these hashes.
      await hooks?.afterRecord?.(round.signed.map((s) => s.entry));
      for (const { entry, raw } of round.signed) {
        try {
          await sendRawTransaction(client, { serializedTransaction: raw });
        } catch (error) {
          // Still recorded as submitted: the next tick finds it mined, re-broadcasts it, or re-signs it.
          await update(entry.id, 'submitted', 'last_error = $3', [`broadcast: ${describe(error)}`]);
        }
        report.submitted.push(entry);
      }
      await hooks?.afterBroadcast?.(round.signed.map((s) => s.entry));
      if (!round.cut) return;
    }
  };

  /** One round of {@link signDue}: `cut` when it stopped at a revert that may depend on what it signed. */
  const signRound = async (
    report: OutboxTickReport,
    limit: number,
    deferred: Set<bigint>,
  ): Promise<{ signed: { entry: OutboxEntry; raw: Hex }[]; cut: boolean }> => {
    const signed: { entry: OutboxEntry; raw: Hex }[] = [];
    let cut = false;
    await sql.transaction(
      async (tx) => {
        await tx.query('select pg_advisory_xact_lock($1)', [OUTBOX_LOCK_KEY]);
        const due = await tx.query<OutboxRow>(
          `select ${OUTBOX_COLUMNS} from outbox where status = 'pending' and next_attempt_at <= now()
           order by id limit $1 for update`,
          [limit + 64],
        );
        if (due.rows.length === 0) return;
        const recorded = await tx.query<{ next: bigint | null }>(
          `select max(nonce) + 1 as next from outbox where status = 'submitted' and sender = $1`,
          [senderBytes],
        );
        let nonce = BigInt(await getTransactionCount(client, { address: sender, blockTag: 'pending' }));
        const next = recorded.rows[0]?.next;
        if (next != null && next > nonce) nonce = next;
        for (const row of due.rows) {
          if (signed.length >= limit) break;
          const entry = toOutboxEntry(row);
          let raw: Hex;
          try {
            const call = {
              account,
              to: entry.payload.to,
              data: entry.payload.data,
              value: entry.payload.value ?? 0n,
            };
            // Against `pending`: the state with every transaction this worker broadcast and the chain has not
            // mined yet, so a write that depends on one of them (same identity, next nonce) estimates correctly.
            const gas = await estimateGas(client, { ...call, blockTag: 'pending' });
            const request = await prepareTransactionRequest(client, {
              ...call,
              chain: client.chain ?? null,
              nonce: Number(nonce),
              gas,
            });
            raw = await signTransaction(serializable(request));
          } catch (error) {
            const revert = toOutboxRevertError(entry.kind, error, abi);
            if (revert) {
              if (signed.length > 0) {
                // Maybe it needs what this round signed and has not broadcast yet: broadcast, then estimate again.
                cut = true;
                break;
              }
              const earlier = await tx.query(
                `select 1 from outbox where id < $1 and status in ('pending', 'submitted') limit 1`,
                [entry.id],
              );
              if (earlier.rows.length > 0) {
                // An earlier write is not mined yet (or was deferred itself): this one may depend on it. Judge it
                // once every earlier write is settled; meanwhile the writes after it go on.
                const { rows } = await tx.query<OutboxRow>(
                  `update outbox set last_error = $2, updated_at = now() where id = $1 returning ${OUTBOX_COLUMNS}`,
                  [entry.id, `waiting for earlier writes to be mined: ${revert.message}`],
                );
                if (rows[0] && !deferred.has(entry.id)) report.deferred.push(toOutboxEntry(rows[0]));
                deferred.add(entry.id);
                continue;
              }
              const { rows } = await tx.query<OutboxRow>(
                `update outbox set status = 'failed', last_error = $2, attempts = attempts + 1, updated_at = now()
                 where id = $1 returning ${OUTBOX_COLUMNS}`,
                [entry.id, revert.message],
              );
              if (rows[0]) report.failed.push(toOutboxEntry(rows[0]));
              continue;
            }
            // Transport or node trouble: keep it pending, try later; keep the order (stop here).
            const { rows } = await tx.query<OutboxRow>(
              `update outbox set attempts = attempts + 1, last_error = $2, updated_at = now(),
                 next_attempt_at = now() + $3 * interval '1 millisecond'
               where id = $1 returning ${OUTBOX_COLUMNS}`,
              [entry.id, describe(error), backoff(entry.attempts + 1)],
            );
            if (rows[0]) report.retried.push(toOutboxEntry(rows[0]));
            break;
          }
          const { rows } = await tx.query<OutboxRow>(
            `update outbox set status = 'submitted', sender = $2, nonce = $3, tx_hash = $4, raw_tx = $5,
               attempts = attempts + 1, last_error = null, updated_at = now()
             where id = $1 returning ${OUTBOX_COLUMNS}`,
            [entry.id, senderBytes, nonce, hexToBytes(keccak256(raw)), hexToBytes(raw)],
          );
          if (rows[0]) signed.push({ entry: toOutboxEntry(rows[0]), raw });
          deferred.delete(entry.id);
          nonce += 1n;
        }
      },
      { isolation: 'read committed' },
    );
    return { signed, cut };
  };

  const tick = async (): Promise<OutboxTickReport> => {
    const report: OutboxTickReport = {
      submitted: [],
      confirmed: [],
      failed: [],
      retried: [],
      waiting: [],
      reopened: [],
      deferred: [],
    };
    await reconcile(report);
    await signDue(report);
    return report;
  };

  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  return {
    sender,
    tick,
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        let failures = 0;
        while (running) {
          let busy = false;
          try {
            const report = await tick();
            failures = 0;
            busy =
              report.submitted.length > 0 ||
              report.waiting.length > 0 ||
              report.retried.length > 0 ||
              report.reopened.length > 0 ||
              report.deferred.length > 0;
          } catch (error) {
            failures += 1;
            parameters.onError?.(error);
          }
          if (!running) break;
          await sleep(
            failures > 0
              ? backoff(failures)
              : busy
                ? Math.min(200, parameters.pollIntervalMs ?? 1_000)
                : (parameters.pollIntervalMs ?? 1_000),
          );
        }
      })();
    },
    wake() {
      wakeUp?.();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
    },
  };
}

function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/** The fields of a prepared request that go into the signed transaction. */
function serializable(request: Record<string, unknown>): TransactionSerializable {
  const keys = [
    'type',
    'chainId',
    'nonce',
    'gas',
    'to',
    'data',
    'value',
    'gasPrice',
    'maxFeePerGas',
    'maxPriorityFeePerGas',
    'accessList',
  ] as const;
  const tx: Record<string, unknown> = {};
  for (const key of keys) if (request[key] !== undefined) tx[key] = request[key];
  return tx as TransactionSerializable;
}
