import { VaultInputError } from '@carekey/sdk/errors';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem';
import type { AccessLogAction } from './appendAccessLog.ts';
import type { Vault } from './Vault.ts';

/** Most rows per page. */
export const MAX_AUDIT_PAGE = 500;

export type ReadAuditParameters = {
  vault: Vault;
  /** The verified patient: only rows about its records are read. */
  patient: Address;
  /** Rows at or after this time. */
  from?: Date | undefined;
  /** Rows before this time. */
  to?: Date | undefined;
  /** Only rows by this actor. */
  actor?: Address | undefined;
  /** Page size (default 100, at most {@link MAX_AUDIT_PAGE}). */
  limit?: number | undefined;
  /** The `next` cursor of the previous page. */
  after?: string | undefined;
};

/** One access-log row as the patient sees it (EHDS Art. 9: who, when, which data; R-17). */
export type AuditEntry = {
  id: string;
  at: string;
  actor: Address;
  action: AccessLogAction;
  recordIds: Hex[];
  grantId: Hex | null;
  outcome: 'allowed' | 'denied' | 'error';
  reason: string | null;
};

export type ReadAuditReturnType = {
  entries: AuditEntry[];
  /** Pass as `after` for the next page; `null` on the last page. */
  next: string | null;
};

/**
 * The patient's access history (docs/protocol.md flow 6): every release, refusal, grant, revocation, shred and
 * publication about its records, oldest first, filtered by time and actor, in pages.
 *
 * @throws {VaultInputError} `invalid-cursor` or `invalid-limit`.
 * @example
 * const { entries, next } = await readAudit({ vault, patient, limit: 50 });
 */
export async function readAudit(parameters: ReadAuditParameters): Promise<ReadAuditReturnType> {
  const { vault } = parameters;
  const limit = parameters.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw new VaultInputError('invalid-limit', `limit must be 1 to ${MAX_AUDIT_PAGE}`);
  }
  let after = 0n;
  if (parameters.after !== undefined) {
    if (!/^[0-9]{1,18}$/u.test(parameters.after))
      throw new VaultInputError('invalid-cursor', 'after must be a cursor from a previous page');
    after = BigInt(parameters.after);
  }
  const { rows } = await vault.sql.query<{
    id: bigint;
    at: Date;
    actor: Uint8Array;
    action: AccessLogAction;
    record_ids: Uint8Array[];
    grant_id: Uint8Array | null;
    outcome: AuditEntry['outcome'];
    reason: string | null;
  }>(
    `select id, at, actor, action, record_ids, grant_id, outcome, reason from access_log
     where patient = $1 and id > $2
       and ($3::timestamptz is null or at >= $3) and ($4::timestamptz is null or at < $4)
       and ($5::bytea is null or actor = $5)
     order by id limit $6`,
    [
      hexToBytes(parameters.patient),
      after,
      parameters.from ?? null,
      parameters.to ?? null,
      parameters.actor === undefined ? null : hexToBytes(parameters.actor),
      limit + 1,
    ],
  );
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      id: String(r.id),
      at: r.at.toISOString(),
      actor: getAddress(bytesToHex(r.actor)),
      action: r.action,
      recordIds: r.record_ids.map((id) => bytesToHex(id)),
      grantId: r.grant_id === null ? null : bytesToHex(r.grant_id),
      outcome: r.outcome,
      reason: r.reason,
    })),
    next: rows.length > limit ? String(page.at(-1)?.id) : null,
  };
}
