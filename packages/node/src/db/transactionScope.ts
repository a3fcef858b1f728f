import { AsyncLocalStorage } from 'node:async_hooks';
import { StorageError } from '@carekey/sdk/errors';

/**
 * Remembers which stores have a transaction open in the current async context,
 * so `sql.query` called by mistake inside `sql.transaction(fn)` fails loudly
 * instead of running outside the transaction (pg) or deadlocking (PGlite).
 */
const scope = new AsyncLocalStorage<ReadonlySet<object>>();

/** Runs `fn` marked as inside a transaction of `store`. */
export function inTransactionOf<result>(store: object, fn: () => Promise<result>): Promise<result> {
  const open = new Set(scope.getStore() ?? []);
  open.add(store);
  return scope.run(open, fn);
}

/** Throws when called inside a transaction of `store`. */
export function assertOutsideTransaction(store: object): void {
  if (scope.getStore()?.has(store)) {
    throw new StorageError('the store was used directly inside its own transaction', {
      hint: 'inside sql.transaction(async (tx) => ...) run statements with tx.query, not sql.query',
    });
  }
}
