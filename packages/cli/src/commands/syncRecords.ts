import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { assembleHeader, decodeStanza, decrypt, unwrapFileKey } from '@carekey/sdk/crypto';
import { canonicalJson, fileRecordCategory, recordCategory, sha256Hex } from '@carekey/sdk/fhir';
import { MAX_KEY_REQUEST_RECORDS } from '@carekey/sdk/protocol';
import type { Address, Hex } from 'viem';
import type { LocalRecord } from '../home/recordStore.ts';
import { progress } from '../io/progress.ts';
import type { Session } from './openSession.ts';

export type SyncRecordsReturnType = { added: number; updated: number };

/**
 * Brings the wallet folder up to date with the node (`GET /v1/records`): records a provider published for me are
 * fetched (my own stanza through `POST /v1/keys/release` with grant zero — logged like any release), checked,
 * decrypted to learn their type, and kept as my own age files; states (pending shred, shredded) follow the node,
 * and a shredded record's own copy and salt are deleted here too.
 */
export async function syncRecords(session: Session): Promise<SyncRecordsReturnType> {
  const { node, store, keys } = session;
  const remote = (await node.listRecords()).records;
  const index = await store.list(keys.identity);
  const known = new Map(index.map((r) => [r.recordId.toLowerCase(), r]));
  let updated = 0;
  const shredded: LocalRecord[] = [];
  for (const r of remote) {
    const local = known.get(r.recordId.toLowerCase());
    if (local === undefined || local.state === r.state) continue;
    local.state = r.state as LocalRecord['state'];
    if (local.state === 'shredded') shredded.push(local);
    updated++;
  }
  await store.forgetFiles(shredded.map((r) => r.recordId));
  for (const local of shredded) local.salt = undefined;
  const missing = remote.filter((r) => r.state === 'active' && !known.has(r.recordId.toLowerCase()));
  let added = 0;
  for (let i = 0; i < missing.length; i += MAX_KEY_REQUEST_RECORDS) {
    const batch = missing.slice(i, i + MAX_KEY_REQUEST_RECORDS);
    progress(`fetching ${batch.length} new record(s) from the node`);
    const released = await node.releaseKeys({
      grantId: ZERO_BYTES32,
      recordIds: batch.map((r) => r.recordId),
    });
    const copies: Parameters<typeof store.putFiles>[0][number][] = [];
    for (const item of released.records) {
      const row = batch.find((r) => r.recordId.toLowerCase() === item.recordId.toLowerCase());
      if (row === undefined) continue;
      const stanza = decodeStanza(item.stanza);
      const fileKey = await unwrapFileKey({ stanzas: [stanza], identities: [keys.identity] });
      const payload = await node.getBlob(item.blobId);
      const header = assembleHeader({ fileKey, stanzas: [stanza] });
      const file = new Uint8Array(header.length + payload.length);
      file.set(header, 0);
      file.set(payload, header.length);
      const plaintext = await decrypt({ identities: [keys.identity], ciphertext: file });
      // A FHIR record is a JSON object; a file record (DICOM, PDF: docs/fhir.md "Files") is the file's bytes.
      const fileCategory = plaintext[0] === 0x7b ? undefined : fileRecordCategory(plaintext);
      const resource = (
        fileCategory === undefined
          ? JSON.parse(new TextDecoder().decode(plaintext))
          : { resourceType: 'Binary', id: sha256Hex(plaintext).slice(0, 64) }
      ) as {
        resourceType: string;
        id: string;
      };
      // The batch's FHIR records go into one pack; a file record (any size) stays a loose file of its own.
      if (fileCategory === undefined) copies.push({ recordId: row.recordId, fileKey, stanza, payload });
      else {
        await store.putFile({ recordId: row.recordId, fileKey, stanza, payload });
        fileKey.fill(0);
      }
      index.push({
        recordId: row.recordId,
        blobId: item.blobId,
        patient: keys.address,
        publisher: row.publisher as Address,
        resourceType: resource.resourceType,
        fhirId: resource.id,
        category: fileCategory ?? recordCategory(resource as never),
        categoryTag: (row.categoryTag ?? ZERO_BYTES32) as Hex,
        sha256:
          fileCategory === undefined ? sha256Hex(canonicalJson(resource as never)) : sha256Hex(plaintext),
        addedAt: new Date().toISOString(),
        state: 'active',
      });
      added++;
    }
    await store.putFiles(copies);
    for (const c of copies) c.fileKey.fill(0);
  }
  if (added > 0 || updated > 0) await store.save(index);
  return { added, updated };
}
