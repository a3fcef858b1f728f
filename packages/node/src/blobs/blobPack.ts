import { createHash } from 'node:crypto';

/**
 * The pack file of a blob batch (`FileBlobStore.putBatch`): many payloads in one file, written and fsynced once.
 *
 *     "CKPACK01" ‖ u32 count ‖ count × (sha2-256 digest, 32 bytes ‖ u64 size) ‖ sha2-256 of all the above ‖ payloads
 *
 * Integers are big-endian; the payloads follow the header back to back in its order. The header's own checksum
 * tells a damaged header from a good one; each payload is checked against its digest whenever it is read.
 */
export const PACK_MAGIC = Buffer.from('CKPACK01', 'latin1');

/** Bytes of the header before its entries (magic and count), of one entry, and of the trailing checksum. */
const PREFIX_BYTES = PACK_MAGIC.length + 4;
const ENTRY_BYTES = 32 + 8;
const CHECKSUM_BYTES = 32;

/** One payload of a pack: its digest, its size and where its bytes start in the file. */
export type PackEntry = { digest: Uint8Array; size: number; offset: number };

/** The header of a pack holding payloads of these digests and sizes, in this order. */
export function encodePackHeader(entries: readonly { digest: Uint8Array; size: number }[]): Buffer {
  const header = Buffer.alloc(PREFIX_BYTES + entries.length * ENTRY_BYTES + CHECKSUM_BYTES);
  PACK_MAGIC.copy(header, 0);
  header.writeUInt32BE(entries.length, PACK_MAGIC.length);
  for (const [i, entry] of entries.entries()) {
    const at = PREFIX_BYTES + i * ENTRY_BYTES;
    header.set(entry.digest, at);
    header.writeBigUInt64BE(BigInt(entry.size), at + 32);
  }
  const body = header.subarray(0, header.length - CHECKSUM_BYTES);
  createHash('sha256').update(body).digest().copy(header, body.length);
  return header;
}

/** Bytes of the header of a pack whose first 12 bytes are `prefix`, or undefined if they are not a pack's. */
export function packHeaderLength(prefix: Uint8Array): number | undefined {
  if (prefix.length < PREFIX_BYTES || !PACK_MAGIC.equals(prefix.subarray(0, PACK_MAGIC.length)))
    return undefined;
  const count = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.length).readUInt32BE(PACK_MAGIC.length);
  return PREFIX_BYTES + count * ENTRY_BYTES + CHECKSUM_BYTES;
}

/** The entries of a whole header (from `packHeaderLength`), or undefined if its checksum or layout is wrong. */
export function decodePackHeader(header: Uint8Array): PackEntry[] | undefined {
  const bytes = Buffer.from(header.buffer, header.byteOffset, header.length);
  if (packHeaderLength(bytes) !== bytes.length) return undefined;
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(body.length))) return undefined;
  const count = bytes.readUInt32BE(PACK_MAGIC.length);
  const entries: PackEntry[] = [];
  let offset = bytes.length;
  for (let i = 0; i < count; i++) {
    const at = PREFIX_BYTES + i * ENTRY_BYTES;
    const size = bytes.readBigUInt64BE(at + 32);
    if (size > BigInt(Number.MAX_SAFE_INTEGER - offset)) return undefined;
    entries.push({ digest: new Uint8Array(bytes.subarray(at, at + 32)), size: Number(size), offset });
    offset += Number(size);
  }
  return entries;
}
