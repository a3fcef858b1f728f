import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** A blob id is not the canonical CIDv1 (raw, sha2-256, base32) of a payload. */
export class InvalidBlobIdError extends BaseError {
  override name = 'InvalidBlobIdError';
  constructor(id: string, reason: string, parameters: BaseErrorParameters = {}) {
    super(`invalid blob id ${JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id)}: ${reason}`, {
      hint: 'a blob id is a CIDv1 (raw, sha2-256) in base32, like "bafkrei…"',
      ...parameters,
    });
  }
}

/** A blob store operation failed: not found, too large, or content that does not match its id. */
export class BlobStoreError extends BaseError {
  override name = 'BlobStoreError';
}

/** No blob with this id is stored. */
export class BlobNotFoundError extends BlobStoreError {
  override name = 'BlobNotFoundError';
  constructor(id: string) {
    super(`no blob ${id}`);
  }
}

/** Stored or received bytes do not hash to their blob id (tampering or corruption). */
export class BlobIntegrityError extends BlobStoreError {
  override name = 'BlobIntegrityError';
  constructor(id: string) {
    super(`blob ${id} does not match its content hash`, {
      hint: 'the stored copy is damaged or was tampered with',
    });
  }
}

/** Why a blob batch was refused as a whole (nothing of it is stored). */
export type BlobBatchFault =
  | 'hash-mismatch'
  | 'truncated'
  | 'trailing-bytes'
  | 'too-large'
  | 'invalid-manifest';

/**
 * A blob batch (`FileBlobStore.putBatch`, `POST /v1/blobs/batch`) was refused as a whole: `fault` says why and
 * `index` names the payload at fault, when one is.
 */
export class BlobBatchError extends BlobStoreError {
  override name = 'BlobBatchError';
  readonly fault: BlobBatchFault;
  readonly index: number | undefined;
  constructor(
    fault: BlobBatchFault,
    message: string,
    parameters: BaseErrorParameters & { index?: number } = {},
  ) {
    const { index, ...rest } = parameters;
    super(message, {
      ...rest,
      details: { ...rest.details, fault, ...(index === undefined ? {} : { index }) },
    });
    this.fault = fault;
    this.index = index;
  }
}
