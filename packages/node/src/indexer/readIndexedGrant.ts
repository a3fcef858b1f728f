import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

/**
 * A grant's state for a decision at one block (asymmetric finality, DESIGN.md; T-3, T-4, T-5):
 * - `unknown`: not indexed (not created on this chain as far as the index knows);
 * - `unconfirmed`: created, but with fewer than `confirmations` blocks (its own included) at `head`;
 * - `revoked`: a revocation was seen, at any depth, even one a reorg removed since;
 * - `expired`: `expiresAt` ≤ the head's chain time;
 * - `active`: counts.
 */
export type IndexedGrantState = 'unknown' | 'unconfirmed' | 'revoked' | 'expired' | 'active';

export type IndexedGrant = {
  grantId: Hex;
  patient: Address;
  grantee: Address;
  scopeKind: 'all' | 'categories' | 'records';
  scopeData: Hex[];
  /** HL7 PurposeOfUse code, e.g. `TREAT`. */
  purpose: string;
  expiresAt: bigint;
  createdBlock: bigint;
  /** Block of the revocation on the current chain, if any. */
  revokedBlock: bigint | null;
  /** First block a revocation was seen in, kept across reorgs, if any. */
  revocationSeenBlock: bigint | null;
};

export type ReadIndexedGrantParameters = {
  /** The store, or an open transaction. */
  sql: SqlExecutor;
  grantId: Hex;
  /** The block the decision is taken at: its number and chain time (unix seconds). */
  head: { number: bigint; timestamp: bigint };
  /** Blocks a grant needs, its own included (`indexer.confirmations`; 1 on the embedded chain). */
  confirmations: number;
};

export type ReadIndexedGrantReturnType = { state: IndexedGrantState; grant: IndexedGrant | undefined };

/**
 * Reads a grant from the index and judges it at `head`: a positive fact counts after `confirmations`, a revocation
 * from the moment it was seen. Call `indexer.syncOnce()` first when the decision must see the latest revocation.
 *
 * @example
 * await indexer.syncOnce();
 * const { state } = await readIndexedGrant({ sql, grantId, head, confirmations: indexer.confirmations });
 * if (state !== 'active') refuse();
 */
export async function readIndexedGrant(
  parameters: ReadIndexedGrantParameters,
): Promise<ReadIndexedGrantReturnType> {
  const { sql, grantId, head, confirmations } = parameters;
  const { rows } = await sql.query<{
    patient: Uint8Array;
    grantee: Uint8Array;
    scope_kind: IndexedGrant['scopeKind'];
    scope_data: Uint8Array[];
    purpose: string;
    expires_at: bigint;
    created_block: bigint;
    revoked_block: bigint | null;
    first_seen_block: bigint | null;
  }>(
    `select g.patient, g.grantee, g.scope_kind, g.scope_data, g.purpose, g.expires_at, g.created_block,
            g.revoked_block, s.first_seen_block
     from grants g left join grant_revocations_seen s on s.grant_id = g.grant_id
     where g.grant_id = $1`,
    [hexToBytes(grantId)],
  );
  const row = rows[0];
  if (!row) return { state: 'unknown', grant: undefined };
  const grant: IndexedGrant = {
    grantId,
    patient: bytesToHex(row.patient) as Address,
    grantee: bytesToHex(row.grantee) as Address,
    scopeKind: row.scope_kind,
    scopeData: row.scope_data.map((d) => bytesToHex(d)),
    purpose: row.purpose,
    expiresAt: row.expires_at,
    createdBlock: row.created_block,
    revokedBlock: row.revoked_block,
    revocationSeenBlock: row.first_seen_block,
  };
  return { state: grantStateAt(grant, head, confirmations), grant };
}

/** The rule of {@link readIndexedGrant} on an already loaded grant. */
export function grantStateAt(
  grant: Pick<IndexedGrant, 'createdBlock' | 'revokedBlock' | 'revocationSeenBlock' | 'expiresAt'>,
  head: { number: bigint; timestamp: bigint },
  confirmations: number,
): Exclude<IndexedGrantState, 'unknown'> {
  // Negative facts first, at any depth.
  if (grant.revokedBlock !== null || grant.revocationSeenBlock !== null) return 'revoked';
  if (grant.expiresAt <= head.timestamp) return 'expired';
  if (head.number - grant.createdBlock + 1n < BigInt(confirmations)) return 'unconfirmed';
  return 'active';
}
