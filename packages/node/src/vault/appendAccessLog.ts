import { type Address, type Hex, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

/** What an access-log row records (001_initial.sql `access_log`). */
export type AccessLogAction =
  | 'release'
  | 'refusal'
  | 'grant'
  | 'revoke'
  | 'shred_request'
  | 'shred_cancel'
  | 'shred'
  | 'publish'
  | 'break_glass';

export type AppendAccessLogParameters = {
  tx: SqlExecutor;
  /** Whose records the row is about. */
  patient: Address;
  /** Who acted: a verified identity (R-2: never null, never shared). */
  actor: Address;
  action: AccessLogAction;
  recordIds?: readonly Hex[] | undefined;
  grantId?: Hex | undefined;
  outcome: 'allowed' | 'denied' | 'error';
  reason?: string | undefined;
  /** EIP-712 digest of the signed request and its signature (T-26). */
  requestDigest?: Hex | undefined;
  signature?: Hex | undefined;
};

/** The new row's id. */
export type AppendAccessLogReturnType = bigint;

/**
 * Appends one row to the append-only access log, inside the caller's transaction (audit, then release: the row
 * commits with, and before, whatever it describes).
 *
 * @example
 * await appendAccessLog({ tx, patient, actor: grantee, action: 'release', recordIds, grantId, outcome: 'allowed' });
 */
export async function appendAccessLog(
  parameters: AppendAccessLogParameters,
): Promise<AppendAccessLogReturnType> {
  const { tx } = parameters;
  const { rows } = await tx.query<{ id: bigint }>(
    `insert into access_log (patient, actor, action, record_ids, grant_id, outcome, reason, request_digest, signature)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [
      hexToBytes(parameters.patient),
      hexToBytes(parameters.actor),
      parameters.action,
      (parameters.recordIds ?? []).map((id) => hexToBytes(id)),
      parameters.grantId === undefined ? null : hexToBytes(parameters.grantId),
      parameters.outcome,
      parameters.reason ?? null,
      parameters.requestDigest === undefined ? null : hexToBytes(parameters.requestDigest),
      parameters.signature === undefined ? null : hexToBytes(parameters.signature),
    ],
  );
  return (rows[0] as { id: bigint }).id;
}
