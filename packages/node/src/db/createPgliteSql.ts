import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError, StoreClosedError } from '@carekey/sdk/errors';
import { PGlite, types } from '@electric-sql/pglite';
import type { QueryReturnType, Sql, SqlExecutor, SqlRow, TransactionOptions } from './Sql.ts';
import { toQueryError } from './toQueryError.ts';
import { assertOutsideTransaction, inTransactionOf } from './transactionScope.ts';

export type CreatePgliteSqlParameters = {
  /**
   * Folder of the embedded database (the node uses `<CAREKEY_DATA>/pg`), created if missing.
   * Omit it for an in-memory database that vanishes on `close()` (unit tests).
   */
  dataDir?: string | undefined;
  /**
   * Start from a copy of another database (a tarball from {@link dumpPgliteSql}) instead of an
   * empty one: restoring a backup, or cloning a migrated template in tests. Only for a new `dataDir`.
   */
  from?: Blob | undefined;
};

export type CreatePgliteSqlReturnType = Sql;

/**
 * Opens the embedded PostgreSQL (PGlite, PostgreSQL compiled to WebAssembly)
 * that a node uses when no `--database-url` is given.
 *
 * PGlite is one connection: statements and transactions run one at a time, in
 * order, so every transaction is serializable. One store at a time may open a
 * data folder: `<dataDir>.lock` names its process, and a second open is refused
 * (a lock left by a killed process is taken over).
 *
 * @throws {StorageError} the folder cannot be created, is already open, or holds no usable database.
 * @example
 * const sql = await createPgliteSql({ dataDir: join(dataDir, 'pg') });
 * await migrate({ sql });
 */
export async function createPgliteSql(
  parameters: CreatePgliteSqlParameters = {},
): Promise<CreatePgliteSqlReturnType> {
  const { dataDir } = parameters;
  const unlock = dataDir !== undefined ? lockDataDir(dataDir) : () => {};
  let db: PGlite;
  try {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    db = await PGlite.create({
      ...(dataDir !== undefined ? { dataDir } : {}),
      ...(parameters.from !== undefined ? { loadDataDir: parameters.from } : {}),
      // int8 as bigint, like the `pg` engine (PGlite's default, number, loses precision past 2^53).
      parsers: { [types.INT8]: (value: string) => BigInt(value) },
    });
  } catch (cause) {
    unlock();
    throw new StorageError(
      `cannot open the embedded database${dataDir !== undefined ? ` in '${dataDir}'` : ''}: ${(cause as Error).message ?? String(cause)}`,
      {
        hint: 'check that the folder is writable and not used by another Carekey node; set CAREKEY_DATA or --data to another folder',
        cause,
        details: { dataDir },
      },
    );
  }

  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new StoreClosedError();
  };
  const run = async <row extends SqlRow>(
    executor: Pick<PGlite, 'query'>,
    text: string,
    params: readonly unknown[],
  ): Promise<QueryReturnType<row>> => {
    try {
      const result = await executor.query<row>(text, [...params]);
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    } catch (error) {
      throw toQueryError(error, text);
    }
  };
  const exec = async (executor: Pick<PGlite, 'exec'>, script: string): Promise<void> => {
    try {
      await executor.exec(script);
    } catch (error) {
      throw toQueryError(error, script);
    }
  };

  const sql: Sql = {
    engine: 'pglite',
    async query<row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) {
      ensureOpen();
      assertOutsideTransaction(sql);
      return run<row>(db, text, params);
    },
    async exec(script: string) {
      ensureOpen();
      assertOutsideTransaction(sql);
      await exec(db, script);
    },
    async transaction<result>(
      fn: (tx: SqlExecutor) => Promise<result>,
      _options: TransactionOptions = {},
    ): Promise<result> {
      ensureOpen();
      assertOutsideTransaction(sql);
      // One connection: PGlite queues transactions, so each one sees no concurrent writer
      // (serializable whatever the requested level, and no serialization failures to retry).
      return db.transaction((raw) => {
        const tx: SqlExecutor = {
          query: <row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) =>
            run<row>(raw, text, params),
          exec: (script: string) => exec(raw, script),
        };
        return inTransactionOf(sql, () => fn(tx));
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      dumps.delete(sql);
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
  dumps.set(sql, () => db.dumpDataDir('none'));
  return sql;
}

const dumps = new WeakMap<Sql, () => Promise<Blob>>();

/**
 * A tarball of an embedded store's whole database (PGlite `dumpDataDir`), for
 * `createPgliteSql({ from })`: backups, or a migrated template cloned by tests.
 *
 * @throws {StorageError} `sql` is not an open PGlite store.
 */
export async function dumpPgliteSql(sql: Sql): Promise<Blob> {
  const dump = dumps.get(sql);
  if (!dump)
    throw new StorageError('only an open embedded (PGlite) store can be dumped', {
      hint: 'back up a PostgreSQL server with pg_dump',
    });
  return dump();
}

/**
 * Two PGlite instances on one folder (two nodes, or one node opening it twice)
 * would corrupt it: `<dataDir>.lock` holds the owner's pid. A lock whose process
 * is gone (a killed node) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const path = `${dataDir.replace(/[\\/]+$/, '')}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw new StorageError(`cannot lock the embedded database folder '${dataDir}'`, {
          cause,
          hint: 'check that the data folder is writable (CAREKEY_DATA / --data)',
        });
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isSafeInteger(owner) && owner > 0 && isAlive(owner))
        throw new StorageError(`the embedded database in '${dataDir}' is already open (process ${owner})`, {
          hint: 'stop the other Carekey node using this data folder, or give this one another CAREKEY_DATA / --data',
          details: { dataDir, pid: owner },
        });
      rmSync(path, { force: true }); // its owner is gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
