import { QueryError } from '@carekey/sdk/errors';

/** Hints for the SQLSTATEs the node's code meets in normal operation. */
const HINTS: Record<string, string> = {
  '23505': 'a row with this key already exists',
  '23503': 'the row refers to a row that does not exist (foreign key)',
  '23514': 'a value breaks a CHECK constraint of the schema (see docs/storage.md)',
  '23502': 'a required column is missing',
  '42P01': 'the table does not exist: have the migrations run? (migrate({ sql }))',
  '40001': 'the transaction conflicted with another one; run it again',
  '40P01': 'the transaction deadlocked with another one; run it again',
  P0001: 'the schema refused this change',
};

/**
 * Wraps a driver error (PGlite or `pg`, both report PostgreSQL's fields) in a
 * {@link QueryError} carrying the SQLSTATE and constraint. Parameters are never
 * quoted: they may be stanzas or signatures.
 */
export function toQueryError(error: unknown, text: string): QueryError {
  if (error instanceof QueryError) return error;
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    message?: unknown;
    code?: unknown;
    constraint?: unknown;
    detail?: unknown;
  };
  const code = typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code) ? fields.code : undefined;
  const constraint = typeof fields.constraint === 'string' ? fields.constraint : undefined;
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  const statement = text.replace(/\s+/g, ' ').trim();
  const hint = code ? HINTS[code] : undefined;
  return new QueryError(
    `SQL failed: ${message}${code ? ` (SQLSTATE ${code}${constraint ? `, constraint ${constraint}` : ''})` : ''}`,
    code,
    constraint,
    {
      cause: error,
      details: { statement: statement.length > 200 ? `${statement.slice(0, 200)}…` : statement },
      ...(hint ? { hint } : {}),
    },
  );
}
