import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobStoreError,
  ContractRevertError,
  InvalidBlobIdError,
  SignedRequestError,
} from '@carekey/sdk/errors';
import { ApiError } from './ApiError.ts';

/** Media type of every error body (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem as the API sends it, plus the stable `code` clients switch on. */
export type Problem = {
  /** `urn:carekey:problem:<code>`. */
  type: string;
  /** Short, fixed summary of the status. */
  title: string;
  status: number;
  /** What was wrong with this request; never stack traces, SQL, file paths or key material. */
  detail: string;
  code: string;
};

export type ToProblemReturnType = Problem & {
  /** Whether this was our fault (5xx): the server logs the error's name. */
  internal: boolean;
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  411: 'Length Required',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Builds a problem body for a status and code. */
export function problem(status: number, code: string, detail: string): Problem {
  return { type: `urn:carekey:problem:${code}`, title: TITLES[status] ?? 'Error', status, detail, code };
}

type FastifyLikeError = { code?: unknown; statusCode?: unknown; validation?: unknown; message?: unknown };

/**
 * Maps anything thrown while serving a request to the problem sent back. Known refusals keep their status and
 * code; Fastify's own client errors (body too large, bad media type, schema validation) get stable codes; anything
 * else is a 500 `internal` whose detail says nothing about the cause.
 */
export function toProblem(error: unknown): ToProblemReturnType {
  const known = (status: number, code: string, detail: string) => ({
    ...problem(status, code, detail),
    internal: status >= 500,
  });
  if (error instanceof ApiError) return known(error.status, error.code, error.detail);
  if (error instanceof SignedRequestError) return known(401, error.reason, error.shortMessage);
  if (error instanceof InvalidBlobIdError) return known(400, 'invalid-blob-id', error.shortMessage);
  if (error instanceof BlobNotFoundError)
    return known(404, 'blob-not-found', 'no blob with this id is stored');
  if (error instanceof BlobIntegrityError)
    return known(400, 'hash-mismatch', 'the body does not hash to the blob id in the path');
  if (error instanceof BlobStoreError) return known(413, 'blob-too-large', error.shortMessage);
  if (error instanceof ContractRevertError) return known(400, 'chain-refused', error.shortMessage);
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError;
  if (e.validation !== undefined && typeof e.message === 'string') {
    return known(400, 'invalid-request', e.message);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return known(413, 'body-too-large', 'the body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? known(
            415,
            'unsupported-media-type',
            'send application/json (or application/octet-stream for blobs)',
          )
        : known(400, 'invalid-content-length', 'Content-Length does not match the body');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return known(400, 'invalid-json', 'the body is empty');
    case 'FST_ERR_CTP_INVALID_TYPE':
      return known(400, 'invalid-content-type', 'the Content-Type header is malformed');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return known(e.statusCode, 'bad-request', 'the request is malformed');
  }
  return known(500, 'internal', 'the node could not complete this request');
}
