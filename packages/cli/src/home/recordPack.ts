import { createHash } from 'node:crypto';

/**
 * The pack file of a batch of local copies (`RecordStore.putFiles`): many records' own age files in one file, written,
 * fsynced and renamed once per batch instead of once per record (docs/storage.md, "The wallet folder").
 *
 *     "CKLOCAL1" ‖ u32 count ‖ count × (record id, 32 bytes ‖ u64 size ‖ sha2-256 of the age file, 32 bytes)
 *       ‖ sha2-256 of all the above ‖ the age files back to back
 *
 * Integers are big-endian; each record's age file (own stanza and payload, as a loose `<id>.age` holds it) follows
 * the header in its order. The header's checksum tells a damaged header from a good one; each age file is checked
 * against its digest whenever it is read (a flipped bit, a pack cut short).
 */
export const RECORD_PACK_MAGIC = Buffer.from('CKLOCAL1', 'latin1');

const PREFIX_BYTES = RECORD_PACK_MAGIC.length + 4;
const ENTRY_BYTES = 32 + 8 + 32;
const CHECKSUM_BYTES = 32;

/** One record of a pack: its id (lowercase hex), the digest and size of its age file, where it starts. */
export type RecordPackEntry = { recordId: string; digest: Buffer; size: number; offset: number };

/** The header of a pack holding these records' age files, in this order. */
export function encodeRecordPackHeader(
  entries: readonly { recordId: string; digest: Uint8Array; size: number }[],
): Buffer {
  const header = Buffer.alloc(PREFIX_BYTES + entries.length * ENTRY_BYTES + CHECKSUM_BYTES);
  RECORD_PACK_MAGIC.copy(header, 0);
  header.writeUInt32BE(entries.length, RECORD_PACK_MAGIC.length);
  for (const [i, entry] of entries.entries()) {
    const at = PREFIX_BYTES + i * ENTRY_BYTES;
    header.write(entry.recordId.slice(2), at, 32, 'hex');
    header.writeBigUInt64BE(BigInt(entry.size), at + 32);
    header.set(entry.digest, at + 40);
  }
  const body = header.subarray(0, header.length - CHECKSUM_BYTES);
  createHash('sha256').update(body).digest().copy(header, body.length);
  return header;
}

/** Bytes of the header of a pack whose first 12 bytes are `prefix`, or undefined if they are not a pack's. */
export function recordPackHeaderLength(prefix: Uint8Array): number | undefined {
  if (prefix.length < PREFIX_BYTES || !RECORD_PACK_MAGIC.equals(prefix.subarray(0, RECORD_PACK_MAGIC.length)))
    return undefined;
  const count = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.length).readUInt32BE(
    RECORD_PACK_MAGIC.length,
  );
  return PREFIX_BYTES + count * ENTRY_BYTES + CHECKSUM_BYTES;
}

/** The entries of a whole header (from `recordPackHeaderLength`), or undefined if its checksum or layout is wrong. */
export function decodeRecordPackHeader(header: Uint8Array): RecordPackEntry[] | undefined {
  const bytes = Buffer.from(header.buffer, header.byteOffset, header.length);
  if (recordPackHeaderLength(bytes) !== bytes.length) return undefined;
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(body.length))) return undefined;
  const count = bytes.readUInt32BE(RECORD_PACK_MAGIC.length);
  const entries: RecordPackEntry[] = [];
  let offset = bytes.length;
  for (let i = 0; i < count; i++) {
    const at = PREFIX_BYTES + i * ENTRY_BYTES;
    const size = bytes.readBigUInt64BE(at + 32);
    if (size > BigInt(Number.MAX_SAFE_INTEGER - offset)) return undefined;
    entries.push({
      recordId: `0x${bytes.toString('hex', at, at + 32)}`,
      digest: Buffer.from(bytes.subarray(at + 40, at + 72)),
      size: Number(size),
      offset,
    });
    offset += Number(size);
  }
  return entries;
}
