import { Readable } from 'node:stream';
import { parseBlobId } from '@carekey/sdk/blobs';
import { Type } from '@sinclair/typebox';
import { defineRoute } from '../defineRoute.ts';
import { BlobIdSchema } from './schemas.ts';

/**
 * Passes a blob store stream on, one chunk behind: the last chunk is released only once the store has checked the
 * whole payload against its id, so a damaged copy ends the response short of its `Content-Length` and never
 * reaches a client as a complete body.
 */
async function* withheldTail(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let previous: Uint8Array | undefined;
  for await (const chunk of source) {
    if (previous !== undefined) yield previous;
    previous = chunk;
  }
  if (previous !== undefined) yield previous;
}

/**
 * `GET /v1/blobs/{cid}`: streams a stored payload with its `Content-Length` and `ETag` (the cid). The store
 * hashes the bytes as they go out; on a mismatch (a damaged copy) the response is cut short, never completed.
 * Clients check the hash anyway (the SDK client does).
 */
export const getBlob = defineRoute({
  operationId: 'getBlob',
  method: 'GET',
  path: '/v1/blobs/{cid}',
  summary: 'Download a payload (ciphertext)',
  tags: ['blobs'],
  auth: 'node-request',
  params: Type.Object({ cid: BlobIdSchema }, { additionalProperties: false }),
  responses: {
    200: { description: 'the payload', contentType: 'application/octet-stream' },
    404: { description: 'no blob with this id (problem+json `blob-not-found`)' },
  },
  handler: async ({ params, services }) => {
    const blob = parseBlobId(params.cid);
    const size = await services.blobs.size(blob.id);
    return {
      status: 200,
      stream: Readable.from(withheldTail(services.blobs.get(blob.id))),
      contentType: 'application/octet-stream',
      headers: { 'content-length': String(size), etag: `"${blob.id}"` },
    };
  },
});
