import { BaseError } from '@carekey/sdk/errors';

export type ApiErrorParameters = {
  /** HTTP status, 4xx or 5xx. */
  status: number;
  /** Stable machine-readable reason, e.g. `invalid-blob-id`; becomes the problem's `code` and `type`. */
  code: string;
  /** One line for the client: what was wrong and how to fix it. Never internal state or secrets. */
  detail: string;
  cause?: unknown;
};

/**
 * An HTTP refusal the API answers as an RFC 9457 problem (`application/problem+json`) with `status`, `code` and
 * `detail` exactly as given. Any other error reaching the server becomes a bare 500 `internal` problem.
 *
 * @example
 * throw new ApiError({ status: 404, code: 'no-encryption-key', detail: 'this identity has published no X25519 key' });
 */
export class ApiError extends BaseError {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly detail: string;

  constructor(parameters: ApiErrorParameters) {
    super(parameters.detail, {
      details: { status: parameters.status, code: parameters.code },
      cause: parameters.cause,
    });
    this.status = parameters.status;
    this.code = parameters.code;
    this.detail = parameters.detail;
  }
}
