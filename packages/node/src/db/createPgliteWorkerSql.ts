import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { QueryError, StorageError, StoreClosedError } from '@carekey/sdk/errors';
import { type CreatePgliteSqlParameters, cannotOpenError } from './createPgliteSql.ts';
import { forgetPgliteDump, registerPgliteDump } from './dumpPgliteSql.ts';
import { lockDataDir } from './lockDataDir.ts';
import {
  type PgliteWorkerData,
  type PgliteWorkerError,
  type PgliteWorkerReply,
  type PgliteWorkerRequest,
  READY_ID,
} from './pgliteWorkerProtocol.ts';
import type { QueryReturnType, Sql, SqlExecutor, SqlRow, TransactionOptions } from './Sql.ts';
import { toQueryError } from './toQueryError.ts';
import { assertOutsideTransaction, inTransactionOf } from './transactionScope.ts';

export type CreatePgliteWorkerSqlParameters = CreatePgliteSqlParameters;

export type CreatePgliteWorkerSqlReturnType = Sql;

/** A successful reply. */
type Answer = Extract<PgliteWorkerReply, { ok: true }>;
type Call = { resolve: (answer: Answer) => void; reject: (error: unknown) => void };
/** A request as the store builds it: `id` is added when it is sent. */
type Outgoing = PgliteWorkerRequest extends infer request
  ? request extends PgliteWorkerRequest
    ? Omit<request, 'id'>
    : never
  : never;

// An eval'd CommonJS bootstrap (as FhirWorkerPool's): imports the worker's TypeScript, registering tsx's loader
// first when the thread did not inherit one (under `tsx` it does; a test runner's own loader does not reach
// worker threads).
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  try {
    await import(workerData.entry);
  } catch (error) {
    if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !workerData.tsxApi) throw error;
    (await import(workerData.tsxApi)).register();
    await import(workerData.entry + '?tsx');
  }
})().catch((error) => { setTimeout(() => { throw error; }); });
`;

function tsxApiUrl(): string | undefined {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    try {
      const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
      return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
    } catch {
      return undefined;
    }
  }
}

type PgliteAssets = Pick<PgliteWorkerData, 'pgliteWasmModule' | 'initdbWasmModule' | 'fsBundle'>;
let assets: Promise<PgliteAssets> | undefined;

/**
 * PGlite's WebAssembly compiled once per process (every worker instantiates the same compiled code instead of
 * compiling 9 MB again) and its file-system bundle read once.
 */
function pgliteAssets(): Promise<PgliteAssets> {
  assets ??= (async () => {
    const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    const read = async (file: string) => new Uint8Array(await readFile(join(dist, file)));
    const [pglite, initdb, bundle] = await Promise.all(
      ['pglite.wasm', 'initdb.wasm', 'pglite.data'].map(read),
    );
    return {
      pgliteWasmModule: await WebAssembly.compile(pglite as Uint8Array<ArrayBuffer>),
      initdbWasmModule: await WebAssembly.compile(initdb as Uint8Array<ArrayBuffer>),
      fsBundle: new Blob([bundle as Uint8Array<ArrayBuffer>]),
    };
  })();
  assets.catch(() => {
    assets = undefined; // try again on the next open
  });
  return assets;
}

/** The Worker behind each store, for tests that kill it (a crash, an OOM) and for diagnostics. */
const workers = new WeakMap<Sql, Worker>();

/** The worker thread running `sql`'s PGlite (`undefined` for any other store). */
export function pgliteWorkerOf(sql: Sql): Worker | undefined {
  return workers.get(sql);
}

/** A worker's failure as an Error with PostgreSQL's fields, for {@link toQueryError}. */
function asError(error: unknown): unknown {
  if (error instanceof Error) return error;
  const fields = error as PgliteWorkerError;
  return Object.assign(new Error(fields.message), fields);
}

/** A failed statement as a {@link QueryError}; the store's own failures (stopped worker, closed) as they are. */
function statementError(error: unknown, text: string): StorageError {
  if (error instanceof StorageError && !(error instanceof QueryError)) return error;
  return toQueryError(asError(error), text);
}

/**
 * The embedded PostgreSQL of {@link createPgliteSql} run in a worker thread: the same data folder (and lock), the
 * same `Sql` behaviour, values and errors, but PGlite's WebAssembly no longer runs on the calling thread — each
 * statement costs that thread one message each way instead of the statement itself, so the node's event loop keeps
 * serving while the database works, and the database gets the machine's other core (`openSql` with
 * `CAREKEY_PGLITE_WORKER=1`).
 *
 * A worker that stops (crash, out of memory, terminated) fails every pending and later call with a
 * `StorageError` saying so; `close()` still releases the folder.
 *
 * @throws {StorageError} the folder cannot be created, is already open, or holds no usable database.
 * @example
 * const sql = await createPgliteWorkerSql({ dataDir: join(dataDir, 'pg') });
 * await migrate({ sql });
 */
export async function createPgliteWorkerSql(
  parameters: CreatePgliteWorkerSqlParameters = {},
): Promise<CreatePgliteWorkerSqlReturnType> {
  const { dataDir } = parameters;
  const unlock = dataDir !== undefined ? lockDataDir(dataDir) : () => {};
  const calls = new Map<number, Call>();
  let nextId = READY_ID + 1;
  /** Set once the worker stopped (or the store closed): every pending and later call fails with it. */
  let failure: StorageError | undefined;
  let stopping = false;
  const fail = (reason: string) => {
    failure ??= stopping
      ? new StoreClosedError()
      : new StorageError(
          `the embedded database's worker thread stopped (${reason}): the statements it had not answered may or may not have run`,
          {
            hint: 'restart the node (the data folder holds every committed transaction); report the crash if it repeats',
            details: { dataDir },
          },
        );
    for (const call of calls.values()) call.reject(failure);
    calls.clear();
  };

  let worker: Worker | undefined;
  try {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    const from = parameters.from !== undefined ? await parameters.from.arrayBuffer() : undefined;
    const entry = new URL('./pgliteWorker.ts', import.meta.url);
    const workerData: PgliteWorkerData = {
      tsxApi: tsxApiUrl(),
      entry: entry.href,
      dataDir,
      from,
      ...(await pgliteAssets()),
    };
    const started = new Worker(BOOTSTRAP, {
      eval: true,
      workerData,
      transferList: from !== undefined ? [from] : [],
    });
    worker = started;
    await new Promise<void>((resolve, reject) => {
      calls.set(READY_ID, { resolve: () => resolve(), reject });
      started.on('message', (reply: PgliteWorkerReply) => {
        const call = calls.get(reply.id);
        if (!call) return;
        calls.delete(reply.id);
        if (calls.size === 0) started.unref(); // idle: the worker alone does not keep the process alive
        if (reply.ok) call.resolve(reply);
        else call.reject(reply.error);
      });
      started.on('error', (error) => fail(`it threw: ${error.message}`));
      started.on('exit', (code) => fail(`exit code ${code}`));
      // A reply that cannot be read leaves its call unanswered: fail them all rather than let one hang.
      started.on('messageerror', (error) => fail(`a reply could not be read: ${error.message}`));
    }).catch((error: unknown) => {
      throw failure ?? asError(error);
    });
  } catch (cause) {
    stopping = true;
    await worker?.terminate();
    unlock();
    throw cannotOpenError(dataDir, cause);
  }
  const thread = worker;

  const send = (request: Outgoing, transfer?: ArrayBuffer[]): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      if (calls.size === 0) thread.ref();
      calls.set(id, { resolve, reject });
      try {
        thread.postMessage({ ...request, id }, transfer);
      } catch (error) {
        // A parameter that cannot be cloned (a function, a symbol): nothing was sent.
        calls.delete(id);
        if (calls.size === 0) thread.unref();
        reject(error);
      }
    });
  const query = async <row extends SqlRow>(
    tx: number,
    text: string,
    params: readonly unknown[],
  ): Promise<QueryReturnType<row>> => {
    try {
      const answer = await send({ op: 'query', tx, text, params });
      return { rows: answer.rows as row[], rowCount: answer.rowCount ?? 0 };
    } catch (error) {
      throw statementError(error, text);
    }
  };
  const exec = async (tx: number, script: string): Promise<void> => {
    try {
      await send({ op: 'exec', tx, text: script });
    } catch (error) {
      throw statementError(error, script);
    }
  };

  let closed = false;
  let closing: Promise<void> | undefined;
  const ensureOpen = () => {
    if (closed) throw new StoreClosedError();
  };
  let nextTransaction = 1;

  const sql: Sql = {
    engine: 'pglite',
    async query<row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) {
      ensureOpen();
      assertOutsideTransaction(sql);
      return query<row>(0, text, params);
    },
    async exec(script: string) {
      ensureOpen();
      assertOutsideTransaction(sql);
      await exec(0, script);
    },
    async transaction<result>(
      fn: (tx: SqlExecutor) => Promise<result>,
      _options: TransactionOptions = {},
    ): Promise<result> {
      ensureOpen();
      assertOutsideTransaction(sql);
      const id = nextTransaction++;
      // One connection, as in process: `begin` answers once this transaction holds the database, so every
      // transaction runs alone (serializable whatever the level, no serialization failure to retry).
      await send({ op: 'begin', tx: id }).catch((error: unknown) => {
        throw statementError(error, 'BEGIN');
      });
      let ended = false;
      const closedError = (text: string) => toQueryError(new Error('Transaction is closed'), text);
      const tx: SqlExecutor = {
        query: <row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) =>
          ended ? Promise.reject(closedError(text)) : query<row>(id, text, params),
        exec: (script: string) => (ended ? Promise.reject(closedError(script)) : exec(id, script)),
      };
      let value: result;
      try {
        value = await inTransactionOf(sql, () => fn(tx));
      } catch (error) {
        ended = true;
        // The caller learns why `fn` failed; a rollback that fails too (the worker stopped) changes nothing to it.
        await send({ op: 'rollback', tx: id }).catch(() => {});
        throw error;
      }
      ended = true;
      await send({ op: 'commit', tx: id }).catch((error: unknown) => {
        throw statementError(error, 'COMMIT');
      });
      return value;
    },
    close() {
      if (closing) return closing;
      closed = true;
      forgetPgliteDump(sql);
      closing = (async () => {
        try {
          // Waits for the running transaction and the statements already sent, as PGlite's close does in process.
          if (!failure) await send({ op: 'close' });
        } catch (error) {
          throw new StorageError(`cannot close the embedded database: ${(asError(error) as Error).message}`, {
            cause: error,
          });
        } finally {
          stopping = true;
          await thread.terminate();
          unlock();
        }
      })();
      return closing;
    },
  };
  registerPgliteDump(sql, async () => {
    const answer = await send({ op: 'dump' });
    return new Blob([answer.dump as ArrayBuffer]);
  });
  workers.set(sql, thread);
  return sql;
}
