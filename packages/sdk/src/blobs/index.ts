export {
  type BlobBatchManifest,
  type EncodeBlobBatchParameters,
  type EncodeBlobBatchReturnType,
  encodeBlobBatch,
  MAX_BLOB_BATCH_COUNT,
  MAX_BLOB_BATCH_MANIFEST_BYTES,
} from './blobBatch.ts';
export { type BlobId, blobIdFromDigest, parseBlobId } from './blobId.ts';
