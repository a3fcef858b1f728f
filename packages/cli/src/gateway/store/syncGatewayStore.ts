import { verifyMerkleProof, ZERO_BYTES32 } from '@carekey/sdk/chain';
import { assembleHeader, decodeStanza, decrypt, unwrapFileKey } from '@carekey/sdk/crypto';
import { canonicalJson, clinicalDate, recordCategory, sha256Hex } from '@carekey/sdk/fhir';
import { MAX_KEY_REQUEST_RECORDS } from '@carekey/sdk/protocol';
import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { Session } from '../../commands/openSession.ts';
import { syncRecords } from '../../commands/syncRecords.ts';
import { CliError } from '../../io/CliError.ts';
import type { GatewayStore, StoredRecord } from './openGatewayStore.ts';

export type SyncGatewayStoreParameters = {
  session: Session;
  store: GatewayStore;
  onProgress?: ((message: string) => void) | undefined;
};

export type SyncGatewayStoreReturnType = {
  /** Records decrypted and added in this sync. */
  added: number;
  /** Records removed: shredded, or no longer covered by a grant (revoked, expired). */
  removed: number;
  /** Records stored after the sync. */
  total: number;
  /** File records (DICOM, PDF payloads) not kept: their describing FHIR records are. */
  files: number;
};

function toStored(parameters: {
  recordId: Hex;
  blobId: string;
  patient: Address;
  custodian: string | null;
  grantId: Hex;
  plaintext: Uint8Array;
  expectedSha256?: string | undefined;
}): StoredRecord | undefined {
  // A file record (DICOM, PDF: docs/fhir.md "Files") holds the file's bytes, not JSON: its describing
  // ImagingStudy/DocumentReference record is what the gateway serves.
  const first = parameters.plaintext.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first !== 0x7b /* '{' */) return undefined;
  let resource: Resource;
  try {
    resource = JSON.parse(new TextDecoder().decode(parameters.plaintext)) as Resource;
  } catch (cause) {
    throw new CliError(`record ${parameters.recordId} does not hold JSON`, { cause });
  }
  if (typeof resource?.resourceType !== 'string' || typeof resource.id !== 'string') {
    throw new CliError(`record ${parameters.recordId} does not hold a FHIR resource with an id`);
  }
  const sha256 = sha256Hex(canonicalJson(resource as never));
  if (parameters.expectedSha256 !== undefined && parameters.expectedSha256 !== sha256) {
    throw new CliError(`record ${parameters.recordId} does not match its recorded SHA-256`, {
      hint: 'the local copy is damaged; nothing was stored',
    });
  }
  const source = (resource.meta as { source?: unknown } | undefined)?.source;
  return {
    recordId: parameters.recordId.toLowerCase() as Hex,
    blobId: parameters.blobId,
    patient: parameters.patient,
    custodian: typeof source === 'string' ? source : parameters.custodian,
    resourceType: resource.resourceType,
    fhirId: resource.id,
    category: recordCategory(resource as never),
    clinicalDate: clinicalDate(resource) ?? null,
    grantId: parameters.grantId,
    sha256,
    syncedAt: new Date().toISOString(),
    resource,
  };
}

/**
 * Brings a gateway store up to date (see `openGatewayStore.ts`):
 *
 * 1. the identity's own records: `syncRecords` (provider-published records fetched, states followed), then each
 *    active local age file decrypted with the wallet and checked against the SHA-256 in the record index;
 * 2. records shared with the identity (`GET /v1/shared`): the new ones released under their grant in signed
 *    batches (each release is logged by the vault), the Merkle proof checked against the batch root, the payload
 *    checked against its CID (the node client does), decrypted locally;
 * 3. anything stored that is neither (shredded, grant revoked or expired) is removed; the store is saved.
 */
export async function syncGatewayStore(
  parameters: SyncGatewayStoreParameters,
): Promise<SyncGatewayStoreReturnType> {
  const { session, store } = parameters;
  const say = parameters.onProgress ?? (() => {});
  const { keys, node } = session;
  const before = new Map<string, StoredRecord>(store.all().map((r) => [r.recordId.toLowerCase(), r]));
  const next = new Map<string, StoredRecord>();
  let files = 0;
  const arrived: StoredRecord[] = [];
  const keep = (stored: StoredRecord | undefined) => {
    if (stored === undefined) {
      files++;
      return;
    }
    next.set(stored.recordId, stored);
    arrived.push(stored);
  };

  say('syncing own records with the node');
  await syncRecords(session);
  const own = (await session.store.list(keys.identity)).filter((r) => r.state === 'active');
  for (const local of own) {
    const id = local.recordId.toLowerCase();
    const kept = before.get(id);
    if (kept !== undefined && kept.grantId === ZERO_BYTES32) {
      next.set(id, kept);
      continue;
    }
    if (local.resourceType === 'Binary' && local.category.startsWith('Binary|')) {
      files++;
      continue;
    }
    if (!(await session.store.hasFile(local.recordId))) continue;
    const plaintext = await decrypt({
      identities: [keys.identity],
      ciphertext: await session.store.readFile(local.recordId),
    });
    keep(
      toStored({
        recordId: local.recordId,
        blobId: local.blobId,
        patient: local.patient,
        custodian: local.publisher,
        grantId: ZERO_BYTES32,
        plaintext,
        expectedSha256: local.sha256,
      }),
    );
  }

  say('listing records shared with you');
  const shared = (await node.listShared()).records;
  const covering = new Set(shared.map((s) => `${s.recordId.toLowerCase()}|${s.grantId.toLowerCase()}`));
  const wanted = new Map<string, { grantId: Hex; patient: Address; recordId: Hex; blobId: string }>();
  for (const r of shared) {
    const id = r.recordId.toLowerCase();
    if (next.has(id) || wanted.has(id)) continue;
    const kept = before.get(id);
    // Kept only while a grant still covers it; a record read under a grant now revoked moves to a covering one.
    if (kept !== undefined && kept.grantId !== ZERO_BYTES32) {
      next.set(id, {
        ...kept,
        grantId: covering.has(`${id}|${kept.grantId.toLowerCase()}`) ? kept.grantId : r.grantId,
      });
      continue;
    }
    wanted.set(id, r);
  }
  const byGrant = new Map<Hex, (typeof shared)[number][]>();
  for (const r of wanted.values()) byGrant.set(r.grantId, [...(byGrant.get(r.grantId) ?? []), r as never]);
  for (const [grantId, rows] of byGrant) {
    for (let i = 0; i < rows.length; i += MAX_KEY_REQUEST_RECORDS) {
      const batch = rows.slice(i, i + MAX_KEY_REQUEST_RECORDS);
      say(`fetching ${batch.length} shared record(s) under grant ${grantId.slice(0, 10)}…`);
      const released = await node.releaseKeys({ grantId, recordIds: batch.map((r) => r.recordId) });
      for (const item of released.records) {
        const row = batch.find((r) => r.recordId.toLowerCase() === item.recordId.toLowerCase());
        if (row === undefined) continue;
        const { leaf, proof, batchRoot } = item as { leaf?: unknown; proof?: unknown; batchRoot?: unknown };
        if (
          typeof leaf === 'string' &&
          typeof batchRoot === 'string' &&
          Array.isArray(proof) &&
          !verifyMerkleProof({ root: batchRoot as Hex, leaf: leaf as Hex, proof: proof as Hex[] })
        ) {
          throw new CliError(`record ${item.recordId}: its inclusion proof does not lead to its batch root`, {
            hint: 'the node answered inconsistently; nothing was stored',
          });
        }
        const stanza = decodeStanza(item.stanza);
        const fileKey = await unwrapFileKey({ stanzas: [stanza], identities: [keys.identity] });
        const payload = await node.getBlob(item.blobId);
        const header = assembleHeader({ fileKey, stanzas: [stanza] });
        fileKey.fill(0);
        const file = new Uint8Array(header.length + payload.length);
        file.set(header, 0);
        file.set(payload, header.length);
        const plaintext = await decrypt({ identities: [keys.identity], ciphertext: file });
        keep(
          toStored({
            recordId: row.recordId,
            blobId: item.blobId,
            patient: row.patient,
            custodian: null,
            grantId,
            plaintext,
          }),
        );
      }
    }
  }

  const removed = [...before.keys()].filter((id) => !next.has(id)).length;
  const added = arrived.length;
  // Stamped as they become visible, with nothing awaited in between (Bulk `_since`: docs/gateway.md).
  const stamp = store.arrivalStamp();
  for (const r of arrived) r.syncedAt = stamp;
  store.replace([...next.values()]);
  await store.save(new Date().toISOString());
  say(`gateway store: ${next.size} record(s), ${added} added, ${removed} removed`);
  return { added, removed, total: next.size, files };
}
