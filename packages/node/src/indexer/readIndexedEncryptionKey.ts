import { type Address, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

export type ReadIndexedEncryptionKeyParameters = {
  /** The store, or an open transaction. */
  sql: SqlExecutor;
  identity: Address;
  /** Chain time (unix seconds) of the block the answer is for: the attribute must be valid after it. */
  chainTime: bigint;
};

/** The identity's X25519 public key (32 bytes), or `undefined` if none is valid at `chainTime`. */
export type ReadIndexedEncryptionKeyReturnType = Uint8Array | undefined;

/**
 * An identity's X25519 key from the index: its latest `did/pub/X25519/enc/base64` attribute change, if still valid
 * at `chainTime` (a revocation has `valid_to` 0) and 32 bytes long. The same rule as the SDK's `getEncryptionKey`,
 * without a scan of the chain's logs.
 *
 * @example
 * const key = await readIndexedEncryptionKey({ sql, identity: grantee, chainTime: head.timestamp });
 */
export async function readIndexedEncryptionKey(
  parameters: ReadIndexedEncryptionKeyParameters,
): Promise<ReadIndexedEncryptionKeyReturnType> {
  const { sql, identity, chainTime } = parameters;
  const { rows } = await sql.query<{ value: Uint8Array; valid_to: string }>(
    `select value, valid_to::text as valid_to from did_encryption_keys where identity = $1
     order by block_number desc, log_index desc limit 1`,
    [hexToBytes(identity)],
  );
  const latest = rows[0];
  if (!latest || BigInt(latest.valid_to) <= chainTime || latest.value.length !== 32) return undefined;
  return latest.value;
}
