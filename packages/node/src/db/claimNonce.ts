import type { SqlExecutor } from './Sql.ts';

export type ClaimNonceParameters = {
  /** The store, or the transaction that goes on to serve the request. */
  sql: SqlExecutor;
  /** 20-byte address that signed the request. */
  signer: Uint8Array;
  /** The request's nonce (1 to 32 bytes). */
  nonce: Uint8Array;
  /** When the signed request expires; the row may be pruned after that. */
  expiresAt: Date;
};

/** `true` the first time a (signer, nonce) is claimed, `false` for a replay. */
export type ClaimNonceReturnType = boolean;

/**
 * Records that a signed request's nonce is used (T-1 replay protection).
 * Atomic on both engines: of any number of concurrent claims of one
 * (signer, nonce), exactly one gets `true`. Claim inside the transaction that
 * serves the request, so a request that fails leaves its nonce usable.
 *
 * @throws {QueryError} a malformed signer (not 20 bytes) or nonce (not 1..32 bytes), SQLSTATE 23514.
 * @example
 * if (!(await claimNonce({ sql: tx, signer, nonce, expiresAt }))) throw new ReplayError();
 */
export async function claimNonce(parameters: ClaimNonceParameters): Promise<ClaimNonceReturnType> {
  const { sql, signer, nonce, expiresAt } = parameters;
  const { rowCount } = await sql.query(
    `insert into used_nonces (signer, nonce, expires_at) values ($1, $2, $3)
     on conflict (signer, nonce) do nothing returning 1`,
    [signer, nonce, expiresAt],
  );
  return rowCount === 1;
}
