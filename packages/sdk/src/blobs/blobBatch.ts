import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { blobIdFromDigest } from './blobId.ts';

/** Most payloads in one `POST /v1/blobs/batch` (as many as records in one published batch). */
export const MAX_BLOB_BATCH_COUNT = 1000;
/** Largest manifest of a blob batch, bytes (the JSON metadata limit of the API, T-19). */
export const MAX_BLOB_BATCH_MANIFEST_BYTES = 1 << 20;

/** The manifest of a blob batch: each payload's CID and exact size, in the order the payloads follow. */
export type BlobBatchManifest = { blobs: { cid: string; size: number }[] };

export type EncodeBlobBatchParameters = {
  /** The payloads (ciphertexts), 1 to {@link MAX_BLOB_BATCH_COUNT}. */
  payloads: readonly Uint8Array[];
};

export type EncodeBlobBatchReturnType = {
  /** Each payload's CID, in order. */
  cids: string[];
  /** SHA-256 (hex, 64 characters) of the manifest bytes: the `manifest` query parameter the request signs. */
  manifestDigest: string;
  /** The body, in pieces: the 4-byte length and manifest, then each payload (send them in this order). */
  parts: Uint8Array[];
  /** Total body size in bytes (its `Content-Length`). */
  size: number;
};

/**
 * Frames payloads as the body of `POST /v1/blobs/batch?manifest=<digest>` (docs/api.md, "Blob batches"):
 * a 4-byte big-endian manifest length, the manifest (JSON `{"blobs":[{"cid","size"}…]}`), then every payload's
 * bytes back to back in manifest order. The signed path carries the manifest's SHA-256 and the manifest carries
 * each payload's CID, so the one signature binds every byte of the body.
 *
 * @throws {RangeError} no payload, more than {@link MAX_BLOB_BATCH_COUNT}, or a manifest over the limit.
 * @example
 * const { manifestDigest, parts, size } = encodeBlobBatch({ payloads });
 * await fetch(`${node}/v1/blobs/batch?manifest=${manifestDigest}`, { method: 'POST', body: new Blob(parts) });
 */
export function encodeBlobBatch(parameters: EncodeBlobBatchParameters): EncodeBlobBatchReturnType {
  const { payloads } = parameters;
  if (payloads.length === 0 || payloads.length > MAX_BLOB_BATCH_COUNT) {
    throw new RangeError(`a blob batch holds 1 to ${MAX_BLOB_BATCH_COUNT} payloads, not ${payloads.length}`);
  }
  const cids = payloads.map((p) => blobIdFromDigest(sha256(p)).id);
  const manifest: BlobBatchManifest = {
    blobs: payloads.map((p, i) => ({ cid: cids[i] as string, size: p.length })),
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  if (manifestBytes.length > MAX_BLOB_BATCH_MANIFEST_BYTES) {
    throw new RangeError(`the blob batch manifest is larger than ${MAX_BLOB_BATCH_MANIFEST_BYTES} bytes`);
  }
  const head = new Uint8Array(4 + manifestBytes.length);
  new DataView(head.buffer).setUint32(0, manifestBytes.length, false);
  head.set(manifestBytes, 4);
  const size = payloads.reduce((n, p) => n + p.length, head.length);
  return { cids, manifestDigest: bytesToHex(sha256(manifestBytes)), parts: [head, ...payloads], size };
}
