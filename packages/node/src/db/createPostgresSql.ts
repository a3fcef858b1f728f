import { DatabaseConnectionError, InvalidDatabaseUrlError, StoreClosedError } from '@carekey/sdk/errors';
import pg from 'pg';
import type { QueryReturnType, Sql, SqlExecutor, SqlRow, TransactionOptions } from './Sql.ts';
import { toQueryError } from './toQueryError.ts';
import { assertOutsideTransaction, inTransactionOf } from './transactionScope.ts';

export type CreatePostgresSqlParameters = {
  /** `postgres://user:password@host:port/database` (from `--database-url` / `CAREKEY_DATABASE_URL`). */
  url: string;
  /** Connections in the pool (default 10). */
  maxConnections?: number | undefined;
  /** How long to wait for a connection before failing (default 5 s). */
  connectTimeoutMs?: number | undefined;
};

export type CreatePostgresSqlReturnType = Sql;

const INT8 = 20;
const INT8_ARRAY = 1016;
const BYTEA = 17;
const BYTEA_ARRAY = 1001;
/** SQLSTATEs after which a transaction is simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Same values as PGlite: `bigint` for int8, plain `Uint8Array` (not `Buffer`) for bytea. */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    const parse = pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
    switch (oid) {
      case INT8:
        return (value: string) => BigInt(value);
      case INT8_ARRAY:
        return (value: string) =>
          (parse(value) as (string | null)[]).map((v) => (v === null ? null : BigInt(v)));
      case BYTEA:
        return (value: string) => toUint8Array(parse(value) as Buffer);
      case BYTEA_ARRAY:
        return (value: string) =>
          (parse(value) as (Buffer | null)[]).map((v) => (v === null ? null : toUint8Array(v)));
      default:
        return parse;
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
}

/**
 * Connects to a PostgreSQL server (production). Checks the URL and makes one
 * round trip before returning, so a wrong URL fails at start, not at the first
 * request.
 *
 * @throws {InvalidDatabaseUrlError} the URL is not a `postgres://` / `postgresql://` URL.
 * @throws {DatabaseConnectionError} the server cannot be reached or refuses the login (the password is never shown).
 * @example
 * const sql = await createPostgresSql({ url: process.env.CAREKEY_DATABASE_URL! });
 * await migrate({ sql });
 */
export async function createPostgresSql(
  parameters: CreatePostgresSqlParameters,
): Promise<CreatePostgresSqlReturnType> {
  const { url } = parameters;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidDatabaseUrlError(url, 'not a URL', { cause });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new InvalidDatabaseUrlError(url, `unsupported scheme '${parsed.protocol}'`);
  if (parsed.pathname === '' || parsed.pathname === '/')
    throw new InvalidDatabaseUrlError(url, 'no database name after the host');

  const pool = new pg.Pool({
    connectionString: url,
    max: parameters.maxConnections ?? 10,
    connectionTimeoutMillis: parameters.connectTimeoutMs ?? 5_000,
    types: typeParsers,
  });
  // An idle connection dropped by the server must not crash the node; the next query reconnects.
  pool.on('error', () => {});
  try {
    await pool.query('select 1');
  } catch (cause) {
    await pool.end().catch(() => {});
    throw new DatabaseConnectionError(url, describeConnectionFailure(cause), { cause });
  }

  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new StoreClosedError();
  };
  const run = async <row extends SqlRow>(
    client: pg.Pool | pg.PoolClient,
    text: string,
    params: readonly unknown[],
  ): Promise<QueryReturnType<row>> => {
    try {
      const result = await client.query<row>(text, params as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    } catch (error) {
      throw toQueryError(error, text);
    }
  };
  const exec = async (client: pg.Pool | pg.PoolClient, script: string): Promise<void> => {
    try {
      // No parameters: `pg` uses the simple protocol, which accepts several statements.
      await client.query(script);
    } catch (error) {
      throw toQueryError(error, script);
    }
  };

  const sql: Sql = {
    engine: 'postgres',
    async query<row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) {
      ensureOpen();
      assertOutsideTransaction(sql);
      return run<row>(pool, text, params);
    },
    async exec(script: string) {
      ensureOpen();
      assertOutsideTransaction(sql);
      await exec(pool, script);
    },
    async transaction<result>(
      fn: (tx: SqlExecutor) => Promise<result>,
      options: TransactionOptions = {},
    ): Promise<result> {
      ensureOpen();
      assertOutsideTransaction(sql);
      const isolation = options.isolation ?? 'serializable';
      const retries = options.retries ?? 5;
      for (let attempt = 0; ; attempt++) {
        let client: pg.PoolClient;
        try {
          client = await pool.connect();
        } catch (cause) {
          throw new DatabaseConnectionError(url, describeConnectionFailure(cause), { cause });
        }
        let broken = false;
        try {
          await exec(client, `begin isolation level ${isolation}`);
          const tx: SqlExecutor = {
            query: <row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) =>
              run<row>(client, text, params),
            exec: (script: string) => exec(client, script),
          };
          const value = await inTransactionOf(sql, () => fn(tx));
          await exec(client, 'commit');
          return value;
        } catch (error) {
          try {
            await client.query('rollback');
          } catch {
            broken = true; // the connection is gone: do not give it back to the pool
          }
          const code = (error as { code?: unknown }).code;
          if (typeof code === 'string' && RETRYABLE.has(code) && attempt < retries) {
            // Back off a little (with jitter) so two conflicting transactions do not collide again.
            await new Promise((r) => setTimeout(r, 5 * 2 ** attempt + Math.random() * 10));
            continue;
          }
          throw error;
        } finally {
          client.release(broken);
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
  return sql;
}

/** One line saying why a connection failed, from `pg`'s or Node's error. */
function describeConnectionFailure(cause: unknown): string {
  const error = cause as { code?: unknown; message?: unknown };
  const code = typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : String(cause);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (no server listening there)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case '28P01':
      return 'password authentication failed';
    case '28000':
      return `login refused: ${message}`;
    case '3D000':
      return `database does not exist: ${message}`;
    default:
      return code ? `${message} (${code})` : message;
  }
}
