import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** Something the key vault refused or could not do. */
export class VaultError extends BaseError {
  override name = 'VaultError';
}

/**
 * A request to the vault is malformed or inconsistent (bad id, missing blob, leaf that does not rebuild the
 * signed root...). Nothing was written. `code` is a stable machine-readable reason (HTTP 400/409 problem code).
 */
export class VaultInputError extends VaultError {
  override name = 'VaultInputError';
  /** Stable reason, e.g. `invalid-stanza`, `root-mismatch`, `blob-missing`. */
  readonly code: string;
  /** HTTP status the API answers with (400 bad input, 403 not allowed, 404 unknown, 409 conflict). */
  readonly status: 400 | 403 | 404 | 409;
  constructor(
    code: string,
    message: string,
    parameters: BaseErrorParameters & { status?: 400 | 403 | 404 | 409 } = {},
  ) {
    super(message, { ...parameters, details: { code, ...parameters.details } });
    this.code = code;
    this.status = parameters.status ?? 400;
  }
}

/**
 * A key release was refused. The reason is written to the access log; callers outside the node only ever see
 * one uniform refusal (THREAT-MODEL T-15), so the message never says whether a record exists.
 */
export class KeyReleaseRefusedError extends VaultError {
  override name = 'KeyReleaseRefusedError';
  /** Why (logged, never sent to the client): `no-grant`, `revoked`, `expired`, `not-covered`, ... */
  readonly reason: string;
  constructor(reason: string, parameters: BaseErrorParameters = {}) {
    super('key release refused', { ...parameters, details: { reason, ...parameters.details } });
    this.reason = reason;
  }
}

/** The chain could not be read, so the vault fails closed (HTTP 503). */
export class VaultChainUnavailableError extends VaultError {
  override name = 'VaultChainUnavailableError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('the chain cannot be read right now', { hint: 'retry shortly', ...parameters });
  }
}
