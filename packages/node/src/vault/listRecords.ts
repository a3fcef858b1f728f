import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem';
import { recordBatchIdSql } from './recordBatchId.ts';
import type { Vault } from './Vault.ts';

export type ListRecordsParameters = { vault: Vault; patient: Address };

/** One of the patient's records as the vault knows it. */
export type ListedRecord = {
  recordId: Hex;
  blobId: string;
  publisher: Address;
  state: 'active' | 'pending_shred' | 'shredded';
  categoryTag: Hex;
  batchRoot: Hex | null;
  /** RecordRegistry batch id, once the chain has the batch. */
  batchId: string | null;
  createdAt: string;
};

export type ListRecordsReturnType = ListedRecord[];

/**
 * The patient's own records, oldest first: ids, blob ids, publisher, state, batch. No key material.
 *
 * @example
 * const records = await listRecords({ vault, patient });
 */
export async function listRecords(parameters: ListRecordsParameters): Promise<ListRecordsReturnType> {
  const { rows } = await parameters.vault.sql.query<{
    record_id: Uint8Array;
    blob_id: string;
    publisher: Uint8Array;
    state: ListedRecord['state'];
    category_tag: Uint8Array;
    batch_root: Uint8Array | null;
    batch_id: bigint | null;
    created_at: Date;
  }>(
    `select r.record_id, r.blob_id, r.publisher, r.state, coalesce(r.assigned_tag, r.category_tag) as category_tag,
            r.batch_root, ${recordBatchIdSql('r')} as batch_id, r.created_at
     from records r where r.patient = $1 order by r.created_at, r.record_id`,
    [hexToBytes(parameters.patient)],
  );
  return rows.map((r) => ({
    recordId: bytesToHex(r.record_id),
    blobId: r.blob_id,
    publisher: getAddress(bytesToHex(r.publisher)),
    state: r.state,
    categoryTag: bytesToHex(r.category_tag),
    batchRoot: r.batch_root === null ? null : bytesToHex(r.batch_root),
    batchId: r.batch_id === null ? null : String(r.batch_id),
    createdAt: r.created_at.toISOString(),
  }));
}
