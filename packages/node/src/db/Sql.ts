/**
 * The node's SQL store: one PostgreSQL dialect, two engines (embedded PGlite,
 * a PostgreSQL server through `pg`). Everything the node keeps in SQL (stanzas,
 * proofs, the chain index, the access log, the outbox) goes through this
 * interface, so vault, indexer and API code never know which engine runs.
 *
 * Values read back are the same on both engines:
 * | PostgreSQL | JavaScript |
 * |---|---|
 * | `bytea` | `Uint8Array` (never a `Buffer`) |
 * | `int8` / `bigserial` | `bigint` |
 * | `int2` / `int4` / `float8` | `number` |
 * | `numeric` | `string` |
 * | `timestamptz` | `Date` |
 * | `json` / `jsonb` | parsed JSON |
 * | `x[]` | arrays of the above |
 *
 * Parameters: pass `Uint8Array` for `bytea`, `bigint` or `number` for integers,
 * `Date` for timestamps, arrays for arrays, and **`JSON.stringify(value)` with a
 * `$n::jsonb` cast for JSON** (the two drivers disagree on how to send a bare
 * JavaScript array to a `jsonb` parameter; a string means the same on both).
 */

/** One row as returned by {@link SqlExecutor.query}. */
export type SqlRow = Record<string, unknown>;

/** The outcome of one statement. */
export type QueryReturnType<row extends SqlRow = SqlRow> = {
  /** The returned rows (empty for statements without `RETURNING`). */
  rows: row[];
  /** Rows inserted, updated, deleted or returned. */
  rowCount: number;
};

/** Anything that runs SQL: the store itself or an open transaction. */
export interface SqlExecutor {
  /**
   * Runs one statement with `$1`, `$2`, ... placeholders.
   *
   * @throws {QueryError} the server refused the statement; `code` is the SQLSTATE (`23505` unique violation, ...).
   * @example
   * const { rows } = await sql.query<{ n: bigint }>('select count(*) as n from records where patient = $1', [patient]);
   */
  query<row extends SqlRow = SqlRow>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryReturnType<row>>;
  /**
   * Runs a script of one or more statements without parameters (migrations, DDL).
   *
   * @throws {QueryError} one statement failed; inside a transaction the whole transaction is rolled back.
   */
  exec(script: string): Promise<void>;
}

/** Isolation level of a {@link Sql.transaction}. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

/** Options of {@link Sql.transaction}. */
export type TransactionOptions = {
  /**
   * Default `serializable`: the transaction behaves as if it ran alone. On a
   * PostgreSQL server a serialization failure (SQLSTATE 40001) or deadlock
   * (40P01) re-runs `fn` from the start, up to `retries` times, so `fn` must not
   * have side effects outside the database. PGlite runs one transaction at a
   * time, which is serializable whatever the level.
   */
  isolation?: IsolationLevel | undefined;
  /** Re-runs after a serialization failure or deadlock (default 5). */
  retries?: number | undefined;
};

/** Which engine a {@link Sql} store runs on. */
export type SqlEngine = 'pglite' | 'postgres';

/** The node's SQL store. */
export interface Sql extends SqlExecutor {
  /** `pglite` (embedded) or `postgres` (a server). */
  readonly engine: SqlEngine;
  /**
   * Runs `fn` in one transaction: committed (durably, before this resolves) if
   * `fn` resolves, rolled back if it throws. Inside `fn`, use the given `tx`
   * only: calling the store itself would run outside the transaction (and
   * deadlock on PGlite), so it throws a `StorageError`.
   *
   * This is what the vault's "write the access-log row, then release" rule
   * needs: when `transaction` resolves, the row is on disk.
   *
   * @throws {QueryError} a statement failed (the transaction is rolled back).
   * @throws whatever `fn` throws (the transaction is rolled back).
   * @example
   * await sql.transaction(async (tx) => {
   *   await tx.query('insert into access_log (...) values (...)', [...]);
   *   await tx.query('update records set state = $2 where record_id = $1', [id, 'pending_shred']);
   * });
   */
  transaction<result>(
    fn: (tx: SqlExecutor) => Promise<result>,
    options?: TransactionOptions,
  ): Promise<result>;
  /** Closes the store (waits for running statements). Idempotent. */
  close(): Promise<void>;
}
