import { join } from 'node:path';
import { createPgliteSql } from './createPgliteSql.ts';
import { createPostgresSql } from './createPostgresSql.ts';
import type { Sql } from './Sql.ts';

export type OpenSqlParameters = {
  /** The node's data folder (`CAREKEY_DATA`); the embedded database lives in `<dataDir>/pg`. */
  dataDir: string;
  /** `--database-url` / `CAREKEY_DATABASE_URL`: a PostgreSQL server instead of the embedded store. */
  databaseUrl?: string | undefined;
};

export type OpenSqlReturnType = Sql;

/**
 * Opens the node's SQL store: the PostgreSQL server at `databaseUrl` when one
 * is given (an empty string counts as none), otherwise the embedded PGlite
 * database in `<dataDir>/pg`. Run {@link migrate} next.
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
  return createPgliteSql({ dataDir: join(dataDir, 'pg') });
}
