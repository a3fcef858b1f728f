import { StorageError } from '@carekey/sdk/errors';
import type { Sql } from './Sql.ts';

/** How each open embedded store (in process or in a worker thread) makes its tarball. */
const dumps = new WeakMap<Sql, () => Promise<Blob>>();

/** Makes `sql` dumpable by {@link dumpPgliteSql} (an embedded store, when it opens). */
export function registerPgliteDump(sql: Sql, dump: () => Promise<Blob>): void {
  dumps.set(sql, dump);
}

/** `sql` is closed: it can no longer be dumped. */
export function forgetPgliteDump(sql: Sql): void {
  dumps.delete(sql);
}

/**
 * A tarball of an embedded store's whole database (PGlite `dumpDataDir`), for
 * `createPgliteSql({ from })` / `createPgliteWorkerSql({ from })`: backups, or a migrated template cloned by tests.
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
