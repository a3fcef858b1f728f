import { type Address, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';

export type LogIdentityAttemptParameters = {
  sql: SqlExecutor;
  /** What was tried, e.g. `present-credential`, `publish-status-list`, `approve-issuer`. */
  operation: string;
  /** Who, when known (the presented subject, the issuer, the governor). */
  actor?: Address | undefined;
  outcome: 'accepted' | 'refused';
  /** The refusal code (`CredentialRefusal` or problem code); never claims or key material (T-10). */
  reason?: string | undefined;
};

/** Appends one row to `identity_attempts`: every credential, status list and governance check, kept or refused. */
export async function logIdentityAttempt(parameters: LogIdentityAttemptParameters): Promise<void> {
  const { sql, operation, actor, outcome, reason } = parameters;
  await sql.query(
    'insert into identity_attempts (operation, actor, outcome, reason) values ($1, $2, $3, $4)',
    [operation, actor === undefined ? null : hexToBytes(actor), outcome, reason ?? null],
  );
}
