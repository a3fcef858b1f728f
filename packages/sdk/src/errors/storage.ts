import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** Something went wrong in the node's SQL store: connection, query, migration or outbox. */
export class StorageError extends BaseError {
  override name = 'StorageError';
}

/** The database URL is malformed or names an unsupported scheme. */
export class InvalidDatabaseUrlError extends StorageError {
  override name = 'InvalidDatabaseUrlError';
  constructor(url: string, reason: string, parameters: BaseErrorParameters = {}) {
    super(`invalid database URL '${redactUrl(url)}': ${reason}`, {
      hint: 'use postgres://user:password@host:5432/database (or set CAREKEY_DATABASE_URL); leave it unset for the embedded PGlite store',
      ...parameters,
      details: { url: redactUrl(url), reason, ...parameters.details },
    });
  }
}

/** The PostgreSQL server could not be reached or refused the connection (wrong host, port, user, password or database). */
export class DatabaseConnectionError extends StorageError {
  override name = 'DatabaseConnectionError';
  constructor(url: string, reason: string, parameters: BaseErrorParameters = {}) {
    super(`cannot connect to the database at '${redactUrl(url)}': ${reason}`, {
      hint: 'check that the server runs and that host, port, user, password and database in --database-url / CAREKEY_DATABASE_URL are right',
      ...parameters,
      details: { url: redactUrl(url), reason, ...parameters.details },
    });
  }
}

/** A SQL statement failed; `details.code` is the PostgreSQL SQLSTATE (e.g. `23505` unique violation). */
export class QueryError extends StorageError {
  override name = 'QueryError';
  /** PostgreSQL SQLSTATE, e.g. `23505`; `undefined` when the failure did not come from the server. */
  readonly code: string | undefined;
  /** The violated constraint, when the server named one. */
  readonly constraint: string | undefined;

  constructor(
    message: string,
    code: string | undefined,
    constraint: string | undefined,
    parameters: BaseErrorParameters = {},
  ) {
    super(message, { ...parameters, details: { code, constraint, ...parameters.details } });
    this.code = code;
    this.constraint = constraint;
  }
}

/** A migration could not be applied, or an applied migration was changed or is unknown to this version. */
export class MigrationError extends StorageError {
  override name = 'MigrationError';
}

/** The store was used after `close()`. */
export class StoreClosedError extends StorageError {
  override name = 'StoreClosedError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('the SQL store is closed', {
      hint: 'open a new store; do not use one after close()',
      ...parameters,
    });
  }
}

/** An outbox entry is malformed, or a chain write it describes failed for good. */
export class OutboxError extends StorageError {
  override name = 'OutboxError';
}

/** Hides the password of a connection URL so it never reaches a log or an error message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not parseable: hide anything between "://user:" and "@".
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}
