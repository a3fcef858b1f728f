/**
 * Worker thread of {@link createPgliteWorkerSql}: opens PGlite (the same options as `createPgliteSql`: int8 as
 * bigint) and runs the statements it is sent. Transactions are PGlite's own (`db.transaction`): `begin` opens one and
 * answers once it holds the database, its statements run through its `tx`, and `commit` / `rollback` end it, so
 * statements outside it wait behind it exactly as they do in process.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction, types } from '@electric-sql/pglite';
import {
  type PgliteWorkerData,
  type PgliteWorkerError,
  type PgliteWorkerReply,
  type PgliteWorkerRequest,
  READY_ID,
} from './pgliteWorkerProtocol.ts';

const port = parentPort;
if (!port) throw new Error('pgliteWorker.ts runs only as a worker thread');
const data = workerData as PgliteWorkerData;

type OpenTransaction = {
  tx: Transaction;
  /** Lets PGlite's transaction callback return (commit) or throw {@link ROLLBACK} (rollback). */
  end: (commit: boolean) => void;
  /** PGlite's `transaction(...)` promise: settles after its COMMIT or ROLLBACK. */
  done: Promise<unknown>;
};
const ROLLBACK = Symbol('rollback');
const open = new Map<number, OpenTransaction>();

function describe(error: unknown): PgliteWorkerError {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : undefined);
  return {
    name: text('name') ?? 'Error',
    message: text('message') ?? String(error),
    code: text('code'),
    constraint: text('constraint'),
    detail: text('detail'),
  };
}

function reply(message: PgliteWorkerReply, transfer?: ArrayBuffer[]): void {
  try {
    port?.postMessage(message, transfer);
  } catch (error) {
    // A value that cannot be cloned (none of PGlite's types): the call still gets its answer.
    port?.postMessage({ id: message.id, ok: false, error: describe(error) } satisfies PgliteWorkerReply);
  }
}

function transaction(id: number): OpenTransaction {
  const entry = open.get(id);
  if (!entry) throw new Error(`transaction ${id} is not open`);
  return entry;
}

function begin(db: PGlite, id: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let began = false;
    let end: (commit: boolean) => void = () => {};
    const done = db.transaction(async (tx) => {
      began = true;
      const ended = new Promise<void>((commit, rollback) => {
        end = (ok) => (ok ? commit() : rollback(ROLLBACK));
      });
      open.set(id, { tx, end, done });
      resolve();
      await ended;
    });
    done.catch((error: unknown) => {
      if (!began) reject(error); // BEGIN itself failed
    });
  });
}

async function finish(id: number, commit: boolean): Promise<void> {
  const entry = transaction(id);
  open.delete(id);
  entry.end(commit);
  try {
    await entry.done;
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
}

async function handle(db: PGlite, request: PgliteWorkerRequest): Promise<void> {
  switch (request.op) {
    case 'query': {
      const executor = request.tx === 0 ? db : transaction(request.tx).tx;
      const result = await executor.query<Record<string, unknown>>(request.text, [...request.params]);
      const rowCount = Math.max(result.affectedRows ?? 0, result.rows.length);
      return reply({ id: request.id, ok: true, rows: result.rows, rowCount });
    }
    case 'exec': {
      await (request.tx === 0 ? db : transaction(request.tx).tx).exec(request.text);
      return reply({ id: request.id, ok: true });
    }
    case 'begin':
      await begin(db, request.tx);
      return reply({ id: request.id, ok: true });
    case 'commit':
    case 'rollback':
      await finish(request.tx, request.op === 'commit');
      return reply({ id: request.id, ok: true });
    case 'dump': {
      const dump = await (await db.dumpDataDir('none')).arrayBuffer();
      return reply({ id: request.id, ok: true, dump }, [dump]);
    }
    case 'close':
      // Waits for the running transaction and the queued statements (PGlite's own locks), like `db.close()` in
      // process; the main thread ends the worker once this is answered.
      await db.close();
      return reply({ id: request.id, ok: true });
  }
}

const db = await PGlite.create({
  ...(data.dataDir !== undefined ? { dataDir: data.dataDir } : {}),
  ...(data.from !== undefined ? { loadDataDir: new Blob([data.from]) } : {}),
  pgliteWasmModule: data.pgliteWasmModule,
  initdbWasmModule: data.initdbWasmModule,
  fsBundle: data.fsBundle,
  // int8 as bigint, like the in-process store and the `pg` engine.
  parsers: { [types.INT8]: (value: string) => BigInt(value) },
}).catch((error: unknown) => {
  reply({ id: READY_ID, ok: false, error: describe(error) });
  port.close(); // nothing else to do: the thread ends
  return undefined;
});
if (db) {
  port.on('message', (request: PgliteWorkerRequest) => {
    handle(db, request).catch((error: unknown) =>
      reply({ id: request.id, ok: false, error: describe(error) }),
    );
  });
  reply({ id: READY_ID, ok: true });
}
