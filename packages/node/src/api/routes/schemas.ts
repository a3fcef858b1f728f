import { Type } from '@sinclair/typebox';

/** A 20-byte hex address (any case; checksums are not required on input). */
export const AddressSchema = Type.String({
  pattern: '^0x[0-9a-fA-F]{40}$',
  description: '20-byte hex address',
});

/** A blob id path parameter; parsed with `parseBlobId` by the handler (a pattern here would hide the reason). */
export const BlobIdSchema = Type.String({
  maxLength: 500,
  description: 'CIDv1 (raw, sha2-256) in base32, e.g. `bafkrei…`',
});
