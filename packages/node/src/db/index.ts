/** The node's SQL store (docs/storage.md). */
export { type ClaimNonceParameters, type ClaimNonceReturnType, claimNonce } from './claimNonce.ts';
export {
  type CreatePgliteSqlParameters,
  type CreatePgliteSqlReturnType,
  createPgliteSql,
  dumpPgliteSql,
} from './createPgliteSql.ts';
export {
  type CreatePgliteWorkerSqlParameters,
  type CreatePgliteWorkerSqlReturnType,
  createPgliteWorkerSql,
  pgliteWorkerOf,
} from './createPgliteWorkerSql.ts';
export {
  type CreatePostgresSqlParameters,
  type CreatePostgresSqlReturnType,
  createPostgresSql,
} from './createPostgresSql.ts';
export {
  type LoadMigrationsParameters,
  type LoadMigrationsReturnType,
  loadMigrations,
  MIGRATIONS_DIR,
  type Migration,
} from './loadMigrations.ts';
export { MIGRATION_LOCK_KEY, type MigrateParameters, type MigrateReturnType, migrate } from './migrate.ts';
export { type OpenSqlParameters, type OpenSqlReturnType, openSql } from './openSql.ts';
export type {
  IsolationLevel,
  QueryReturnType,
  Sql,
  SqlEngine,
  SqlExecutor,
  SqlRow,
  TransactionOptions,
} from './Sql.ts';
