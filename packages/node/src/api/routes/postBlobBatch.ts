import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MAX_BLOB_BATCH_COUNT, MAX_BLOB_BATCH_MANIFEST_BYTES } from '@carekey/sdk/blobs';
import { BlobBatchError, InvalidBlobIdError } from '@carekey/sdk/errors';
import { Type } from '@sinclair/typebox';
import { timeStage } from '../../stageLog.ts';
import { ApiError } from '../ApiError.ts';
import { defineRoute } from '../defineRoute.ts';
import { parseStrictJson } from '../parseStrictJson.ts';

/** Answer of `POST /v1/blobs/batch`: every payload of the batch, in manifest order. */
export const StoredBlobBatch = Type.Object(
  {
    blobs: Type.Array(
      Type.Object(
        { cid: Type.String(), size: Type.Integer({ minimum: 0 }), created: Type.Boolean() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Where each fault of a refused batch is answered, and with which status. */
const FAULT_STATUS = {
  'hash-mismatch': 400,
  truncated: 400,
  'trailing-bytes': 400,
  'invalid-manifest': 400,
  'too-large': 413,
} as const;

function refuse(status: 400 | 413, code: string, detail: string): never {
  throw new ApiError({ status, code, detail });
}

/** Reads the 4-byte length and the manifest from the front of the body; returns them and the rest. */
async function readManifest(body: Readable): Promise<{ manifest: Buffer; rest: AsyncIterable<Uint8Array> }> {
  const iterator = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let need = 4;
  let length: number | undefined;
  for (;;) {
    if (head.length >= need) {
      if (length === undefined) {
        length = head.readUInt32BE(0);
        if (length === 0 || length > MAX_BLOB_BATCH_MANIFEST_BYTES) {
          refuse(400, 'invalid-manifest', `the manifest must be 1 to ${MAX_BLOB_BATCH_MANIFEST_BYTES} bytes`);
        }
        need = 4 + length;
        continue;
      }
      break;
    }
    const next = await iterator.next();
    if (next.done) refuse(400, 'truncated-batch', 'the body ends inside the manifest');
    head = Buffer.concat([head, next.value]);
  }
  const manifest = head.subarray(4, need);
  const after = head.subarray(need);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (after.length > 0) yield after;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { manifest, rest: rest() };
}

/** The manifest's entries, checked for shape (ids are parsed by the store). */
function parseEntries(manifest: Buffer): { id: string; size: number }[] {
  const value = parseStrictJson({ text: manifest, maxDepth: 4 }) as { blobs?: unknown };
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== 1 || keys[0] !== 'blobs' || !Array.isArray(value.blobs)) {
    refuse(400, 'invalid-manifest', 'the manifest is {"blobs":[{"cid","size"}…]} and nothing else');
  }
  const blobs = value.blobs as unknown[];
  if (blobs.length === 0 || blobs.length > MAX_BLOB_BATCH_COUNT) {
    refuse(400, 'invalid-manifest', `a batch holds 1 to ${MAX_BLOB_BATCH_COUNT} blobs, not ${blobs.length}`);
  }
  return blobs.map((entry, i) => {
    const e = entry as { cid?: unknown; size?: unknown };
    const shape =
      e !== null && typeof e === 'object' && !Array.isArray(e) ? Object.keys(e).sort().join(',') : '';
    if (shape !== 'cid,size' || typeof e.cid !== 'string' || typeof e.size !== 'number') {
      refuse(400, 'invalid-manifest', `blobs[${i}] must be {"cid": string, "size": integer}`);
    }
    return { id: e.cid, size: e.size };
  });
}

/**
 * `POST /v1/blobs/batch?manifest=<sha256 hex>`: uploads many payloads in one signed request, streamed
 * (docs/api.md, "Blob batches"). The body is a 4-byte big-endian manifest length, the manifest
 * `{"blobs":[{"cid","size"}…]}`, then every payload back to back. The signed path binds the manifest (its SHA-256),
 * the manifest binds each payload (its CID). All or nothing: a wrong manifest digest, a payload that does not hash
 * to its CID, a body that ends early or goes on, or a batch too large refuses the whole batch and stores nothing.
 * One signature check, one owner lookup, one nonce and one grouped fsync per batch instead of per payload.
 */
export const postBlobBatch = defineRoute({
  operationId: 'postBlobBatch',
  method: 'POST',
  path: '/v1/blobs/batch',
  summary: 'Upload many payloads in one request (streamed; each must hash to its cid; all or nothing)',
  tags: ['blobs'],
  auth: 'node-request',
  query: Type.Object(
    {
      manifest: Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: 'SHA-256 (lower-case hex) of the manifest bytes',
      }),
    },
    { additionalProperties: false },
  ),
  streamBody: {
    contentType: 'application/octet-stream',
    description: 'u32 manifest length (big-endian) ‖ manifest JSON ‖ the payloads in manifest order',
  },
  responses: {
    201: {
      description: 'every payload stored (`created` false for those already there)',
      schema: StoredBlobBatch,
    },
    400: {
      description:
        'refused, nothing stored (problem+json `manifest-mismatch`, `invalid-manifest`, `invalid-blob-id`, `hash-mismatch`, `truncated-batch`, `trailing-bytes`)',
    },
    413: { description: 'a payload or the batch is larger than the node accepts (`blob-too-large`)' },
  },
  handler: async ({ query, stream, headers, services }) => {
    const body = stream as Readable;
    const store = services.blobs;
    try {
      const declared = Number(headers['content-length'] ?? Number.NaN);
      const largest = store.maxBatchBytes + 4 + MAX_BLOB_BATCH_MANIFEST_BYTES;
      if (Number.isFinite(declared) && declared > largest) {
        refuse(413, 'blob-too-large', `a blob batch is limited to ${store.maxBatchBytes} bytes of payloads`);
      }
      const { manifest, rest } = await readManifest(body);
      if (createHash('sha256').update(manifest).digest('hex') !== query.manifest) {
        refuse(400, 'manifest-mismatch', 'the manifest does not hash to the signed manifest parameter');
      }
      const entries = parseEntries(manifest);
      const largestBlob = Math.max(...entries.map((e) => e.size));
      if (largestBlob > store.maxBlobBytes) {
        refuse(413, 'blob-too-large', `blobs are limited to ${store.maxBlobBytes} bytes`);
      }
      const expected = entries.reduce((n, e) => n + e.size, 4 + manifest.length);
      if (Number.isFinite(declared) && declared !== expected) {
        refuse(
          400,
          'invalid-content-length',
          `Content-Length ${declared}, the manifest adds up to ${expected}`,
        );
      }
      const stored = await timeStage('blob batch (putBatch)', () =>
        store.putBatch({ entries, source: rest }),
      );
      return {
        status: 201,
        body: { blobs: stored.map((b) => ({ cid: b.id, size: b.size, created: b.created })) },
      };
    } catch (error) {
      body.resume(); // read the rest away so that the client gets the answer rather than a reset
      if (error instanceof BlobBatchError) {
        const code =
          error.fault === 'too-large'
            ? 'blob-too-large'
            : error.fault === 'truncated'
              ? 'truncated-batch'
              : error.fault;
        refuse(FAULT_STATUS[error.fault], code, error.shortMessage);
      }
      if (error instanceof InvalidBlobIdError) refuse(400, 'invalid-blob-id', error.shortMessage);
      throw error;
    }
  },
});
