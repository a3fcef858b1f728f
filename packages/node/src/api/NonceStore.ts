import type { Address, Hex } from 'viem';

export type UseNonceParameters = {
  /** The identity that signed (the `signer` field of the request). */
  signer: Address;
  /** The request's 32-byte random nonce. */
  nonce: Hex;
  /** The request's `expiresAt`, seconds since the epoch: the nonce may be forgotten after it. */
  expiresAt: bigint;
};

/**
 * Remembers the nonces of signed requests until they expire, so that a replay is refused (THREAT-MODEL T-1).
 * Backed by the `used_nonces` table in production ({@link createSqlNonceStore}); by memory in a single-process
 * test node ({@link createMemoryNonceStore}).
 */
export interface NonceStore {
  /**
   * Records `(signer, nonce)` atomically; resolves `true` the first time, `false` if it was already used.
   * Two concurrent calls with the same pair never both resolve `true`.
   */
  use(parameters: UseNonceParameters): Promise<boolean>;
}
