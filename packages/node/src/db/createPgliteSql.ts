import { mkdirSync } from 'node:fs';
import { StorageError, StoreClosedError } from '@carekey/sdk/errors';
import { PGlite, types } from '@electric-sql/pglite';
import { forgetPgliteDump, registerPgliteDump } from './dumpPgliteSql.ts';
import { lockDataDir } from './lockDataDir.ts';
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

export { dumpPgliteSql } from './dumpPgliteSql.ts';

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
    throw cannotOpenError(dataDir, cause);
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
      forgetPgliteDump(sql);
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
  registerPgliteDump(sql, () => db.dumpDataDir('none'));
  return sql;
}

/** Why an embedded store did not open (in process or in a worker thread: the same words). */
export function cannotOpenError(dataDir: string | undefined, cause: unknown): StorageError {
  return new StorageError(
    `cannot open the embedded database${dataDir !== undefined ? ` in '${dataDir}'` : ''}: ${(cause as Error).message ?? String(cause)}`,
    {
      hint: 'check that the folder is writable and not used by another Carekey node; set CAREKEY_DATA or --data to another folder',
      cause,
      details: { dataDir },
    },
  );
}
