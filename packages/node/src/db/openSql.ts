import { join } from 'node:path';
import { createPgliteSql } from './createPgliteSql.ts';
import { createPgliteWorkerSql } from './createPgliteWorkerSql.ts';
import { createPostgresSql } from './createPostgresSql.ts';
import type { Sql } from './Sql.ts';

export type OpenSqlParameters = {
  /** The node's data folder (`CAREKEY_DATA`); the embedded database lives in `<dataDir>/pg`. */
  dataDir: string;
  /** `--database-url` / `CAREKEY_DATABASE_URL`: a PostgreSQL server instead of the embedded store. */
  databaseUrl?: string | undefined;
  /**
   * Run the embedded PGlite in a worker thread (`createPgliteWorkerSql`: its WebAssembly off the node's event loop)
   * rather than on the calling thread (`createPgliteSql`). Default: yes, unless `CAREKEY_PGLITE_WORKER=0`. The same
   * data folder either way.
   */
  pgliteWorker?: boolean | undefined;
};

export type OpenSqlReturnType = Sql;

/**
 * Opens the node's SQL store: the PostgreSQL server at `databaseUrl` when one
 * is given (an empty string counts as none), otherwise the embedded PGlite
 * database in `<dataDir>/pg`, run in a worker thread unless `pgliteWorker` is
 * false or `CAREKEY_PGLITE_WORKER=0`. Run {@link migrate} next.
 *
 * @throws {InvalidDatabaseUrlError} `databaseUrl` is malformed.
 * @throws {DatabaseConnectionError} the server cannot be reached or refuses the login.
 * @throws {StorageError} the embedded database cannot be opened.
 * @example
 * const sql = await openSql({ dataDir: config.dataDir, databaseUrl: process.env.CAREKEY_DATABASE_URL });
 */
export async function openSql(parameters: OpenSqlParameters): Promise<OpenSqlReturnType> {
  const { databaseUrl, dataDir } = parameters;
  if (databaseUrl !== undefined && databaseUrl !== '') return createPostgresSql({ url: databaseUrl });
  const inWorker = parameters.pgliteWorker ?? process.env.CAREKEY_PGLITE_WORKER !== '0';
  return (inWorker ? createPgliteWorkerSql : createPgliteSql)({ dataDir: join(dataDir, 'pg') });
}
