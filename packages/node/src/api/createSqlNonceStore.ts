import { hexToBytes } from 'viem';
import { claimNonce } from '../db/claimNonce.ts';
import type { SqlExecutor } from '../db/Sql.ts';
import type { NonceStore, UseNonceParameters } from './NonceStore.ts';

export type CreateSqlNonceStoreParameters = {
  /** The node's SQL store (migrated: it has `used_nonces`). */
  sql: SqlExecutor;
  /** Prune expired rows once every this many claims (default 256). */
  pruneEvery?: number | undefined;
};

export type CreateSqlNonceStoreReturnType = NonceStore;

/**
 * The node's {@link NonceStore}: the `used_nonces` table, so a replay is refused across restarts and across nodes
 * sharing one PostgreSQL server (the claim is atomic on both engines). Rows past their expiry are pruned now
 * and then: an expired request is refused on freshness before its nonce is looked at.
 *
 * @example
 * const nonces = createSqlNonceStore({ sql });
 */
export function createSqlNonceStore(
  parameters: CreateSqlNonceStoreParameters,
): CreateSqlNonceStoreReturnType {
  const { sql } = parameters;
  const pruneEvery = parameters.pruneEvery ?? 256;
  let claims = 0;
  return {
    async use({ signer, nonce, expiresAt }: UseNonceParameters) {
      if (++claims % pruneEvery === 0) {
        await sql.query('delete from used_nonces where expires_at < now()');
      }
      return claimNonce({
        sql,
        signer: hexToBytes(signer),
        nonce: hexToBytes(nonce),
        expiresAt: new Date(Number(expiresAt) * 1000),
      });
    },
  };
}
