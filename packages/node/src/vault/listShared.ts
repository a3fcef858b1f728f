import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import { grantCovers } from './grantCovers.ts';
import { listGrants } from './listGrants.ts';
import type { Vault } from './Vault.ts';

export type ListSharedParameters = { vault: Vault; grantee: Address };

/** A record the grantee may ask for now, and the grant to name in its key request. */
export type SharedRecord = {
  grantId: Hex;
  patient: Address;
  recordId: Hex;
  blobId: string;
  categoryTag: Hex;
};

export type ListSharedReturnType = SharedRecord[];

/**
 * Records shared with `grantee`: active records of patients with an active grant to it that covers them and for
 * which it holds a stanza — what a key request for that grant would release. Read-only; nothing is released.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function listShared(parameters: ListSharedParameters): Promise<ListSharedReturnType> {
  const { vault, grantee } = parameters;
  const { grants } = await listGrants({ vault, identity: grantee });
  const shared: SharedRecord[] = [];
  for (const grant of grants) {
    if (grant.role !== 'grantee' || grant.state !== 'active') continue;
    let scopeRecordIds: Hex[] | undefined;
    if (grant.scopeKind === 2 && grant.scopeData[0] !== undefined) {
      const { rows } = await vault.sql.query<{ record_id: Uint8Array }>(
        'select record_id from scope_records where root = $1',
        [hexToBytes(grant.scopeData[0])],
      );
      scopeRecordIds = rows.map((r) => bytesToHex(r.record_id));
    }
    const covers = grantCovers({ grant, scopeRecordIds });
    const { rows } = await vault.sql.query<{
      record_id: Uint8Array;
      blob_id: string;
      category_tag: Uint8Array;
    }>(
      `select r.record_id, r.blob_id, coalesce(r.assigned_tag, r.category_tag) as category_tag from records r join stanzas s using (record_id)
       where r.patient = $1 and s.reader = $2 and r.state = 'active' order by r.created_at, r.record_id`,
      [hexToBytes(grant.patient), hexToBytes(grantee)],
    );
    for (const r of rows) {
      const record = { recordId: bytesToHex(r.record_id), categoryTag: bytesToHex(r.category_tag) };
      if (covers(record))
        shared.push({ grantId: grant.grantId, patient: grant.patient, blobId: r.blob_id, ...record });
    }
  }
  return shared;
}
