export { type BlobId, blobIdFromDigest, parseBlobId } from './blobId.ts';
