import { Readable } from 'node:stream';
import { parseBlobId } from '@carekey/sdk/blobs';
import { Type } from '@sinclair/typebox';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { BlobIdSchema } from './schemas.ts';

/** Answer of `PUT /v1/blobs/{cid}`. */
export const StoredBlob = Type.Object(
  { cid: Type.String(), size: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

/**
 * `PUT /v1/blobs/{cid}`: uploads a payload (ciphertext), streamed to disk and hashed on the way; stored only if it
 * hashes to `cid` (otherwise 400 `hash-mismatch` and nothing is kept). 201 when new, 200 when already stored.
 * The signed body hash is zero: the CID in the signed path binds the body.
 */
export const putBlob = defineRoute({
  operationId: 'putBlob',
  method: 'PUT',
  path: '/v1/blobs/{cid}',
  summary: 'Upload a payload (streamed; must hash to cid; size-limited)',
  tags: ['blobs'],
  auth: 'node-request',
  params: Type.Object({ cid: BlobIdSchema }, { additionalProperties: false }),
  streamBody: { contentType: 'application/octet-stream', description: 'the payload bytes' },
  responses: {
    200: { description: 'already stored', schema: StoredBlob },
    201: { description: 'stored', schema: StoredBlob },
    413: { description: 'larger than the node accepts (problem+json `blob-too-large`)' },
  },
  handler: async ({ params, stream, headers, services }) => {
    const blob = parseBlobId(params.cid);
    const max = services.blobs.maxBlobBytes;
    const declared = Number(headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > max) {
      stream?.resume();
      throw new ApiError({
        status: 413,
        code: 'blob-too-large',
        detail: `blobs are limited to ${max} bytes`,
      });
    }
    const stored = await services.blobs.put({ source: stream ?? Readable.from([]), expectedId: blob.id });
    return { status: stored.created ? 201 : 200, body: { cid: stored.id, size: stored.size } };
  },
});
