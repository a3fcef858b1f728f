import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { decrypt, encrypt, X25519Recipient } from '@carekey/sdk/crypto';
import { MAX_KEY_REQUEST_RECORDS } from '@carekey/sdk/protocol';
import type { Address, Hex } from 'viem';
import { openRecordPayload } from './files.ts';
import { idbGet, idbSet } from './idb.ts';
import type { Session } from './session.ts';

/** A FHIR resource as decrypted (plain JSON). */
export type Resource = { resourceType: string; id?: string; [key: string]: unknown };

/** One of the patient's records as the portal holds it in memory (decrypted) and in its encrypted cache. */
export type PortalRecord = {
  recordId: Hex;
  blobId: string;
  publisher: Address;
  /** `active`, `pending_shred` or `shredded`. */
  state: string;
  categoryTag: Hex;
  /** The file key wrapped to me (age stanza text): what a share re-wraps. Gone once shredded. */
  stanza?: string;
  /** The decrypted resource. Gone once shredded. */
  resource?: Resource;
  /**
   * A file record (a scan, a PDF) instead of a resource: only what its first chunk showed; the file is decrypted
   * streamed when saved (`lib/files.ts`), never held here.
   */
  file?: { contentType: string };
  /** When this browser first saw it (ISO). */
  addedAt: string;
};

/**
 * Whether a resource is an emergency summary this patient published for break-glass (an IPS document: a Bundle of
 * type `document` whose Composition is LOINC 60591-5, as `buildIpsDocument` makes it): kept out of the timeline.
 */
export function isEmergencySummary(resource: Resource): boolean {
  if (resource.resourceType !== 'Bundle' || resource.type !== 'document') return false;
  const first = (
    resource.entry as { resource?: { resourceType?: string; type?: unknown } }[] | undefined
  )?.[0]?.resource;
  const coding = (first?.type as { coding?: { code?: string }[] } | undefined)?.coding ?? [];
  return first?.resourceType === 'Composition' && coding.some((c) => c.code === '60591-5');
}

export type Progress = (done: number, total: number, what: string) => void;

const cacheKey = (address: string) => `records:${address.toLowerCase()}`;

/** Reads the encrypted record cache of this wallet (decrypted with its own X25519 key); `[]` if none. */
export async function loadCache(session: Session): Promise<PortalRecord[]> {
  const sealed = await idbGet<Uint8Array>(cacheKey(session.keys.address));
  if (sealed === undefined) return [];
  try {
    const plaintext = await decrypt({ identities: [session.keys.identity], ciphertext: sealed });
    return JSON.parse(new TextDecoder().decode(plaintext)) as PortalRecord[];
  } catch {
    return []; // a damaged cache is rebuilt from the node
  }
}

/** Writes the record cache, encrypted to this wallet's own key (never in clear at rest). */
export async function saveCache(session: Session, records: readonly PortalRecord[]): Promise<void> {
  const ciphertext = await encrypt({
    recipients: [new X25519Recipient(session.keys.recipient)],
    plaintext: new TextEncoder().encode(JSON.stringify(records)),
  });
  await idbSet(cacheKey(session.keys.address), ciphertext);
}

/** Runs `task` over items with at most `limit` in flight. */
export async function inPool<item, result>(
  items: readonly item[],
  limit: number,
  task: (x: item, i: number) => Promise<result>,
): Promise<result[]> {
  const out = new Array<result>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i] as item, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Brings the patient's records up to date with the node (`GET /v1/records`): states follow the node (a shredded
 * record loses its stanza and content here too), and records not yet in this browser are fetched — my own stanza
 * through `POST /v1/keys/release` with grant zero (logged like any release), the payload checked against its hash,
 * decrypted here. The result is saved to the encrypted cache.
 */
export async function syncRecords(session: Session, onProgress?: Progress): Promise<PortalRecord[]> {
  const { node } = session;
  const cached = await loadCache(session);
  const remote = (await node.listRecords()).records;
  const byId = new Map(cached.map((r) => [r.recordId.toLowerCase(), r]));
  let changed = false;
  for (const row of remote) {
    const local = byId.get(row.recordId.toLowerCase());
    if (local === undefined || local.state === row.state) continue;
    local.state = row.state;
    if (local.state === 'shredded') {
      delete local.stanza;
      delete local.resource;
    }
    changed = true;
  }
  const missing = remote.filter((r) => r.state !== 'shredded' && !byId.has(r.recordId.toLowerCase()));
  let done = 0;
  for (let i = 0; i < missing.length; i += MAX_KEY_REQUEST_RECORDS) {
    const batch = missing.slice(i, i + MAX_KEY_REQUEST_RECORDS);
    onProgress?.(done, missing.length, 'Fetching the keys of new records');
    const released = await node.releaseKeys({
      grantId: ZERO_BYTES32,
      recordIds: batch.map((r) => r.recordId),
    });
    const rows = new Map(batch.map((r) => [r.recordId.toLowerCase(), r]));
    await inPool(released.records, 8, async (item) => {
      const row = rows.get(item.recordId.toLowerCase());
      if (row === undefined) return;
      const opened = await openRecordPayload(session, { stanza: item.stanza, blobId: item.blobId });
      const record: PortalRecord = {
        recordId: row.recordId,
        blobId: item.blobId,
        publisher: row.publisher,
        state: row.state,
        categoryTag: (row.categoryTag ?? ZERO_BYTES32) as Hex,
        stanza: item.stanza,
        ...opened,
        addedAt: new Date().toISOString(),
      };
      byId.set(row.recordId.toLowerCase(), record);
      changed = true;
      done++;
      if (done % 25 === 0 || done === missing.length)
        onProgress?.(done, missing.length, 'Decrypting records');
    });
  }
  const records = [...byId.values()];
  if (changed) await saveCache(session, records);
  return records;
}

/** Records shared with me (as clinician), by patient and grant. */
export type SharedGroup = { grantId: Hex; patient: Address; recordIds: Hex[] };

export async function listSharedWithMe(session: Session): Promise<SharedGroup[]> {
  const { records } = await session.node.listShared();
  const byGrant = new Map<string, SharedGroup>();
  for (const r of records) {
    const entry = byGrant.get(r.grantId) ?? { grantId: r.grantId, patient: r.patient, recordIds: [] };
    entry.recordIds.push(r.recordId);
    byGrant.set(r.grantId, entry);
  }
  return [...byGrant.values()];
}

/**
 * Opens records shared with me under a grant (docs/protocol.md flow 3): a signed `KeyRequest`, the vault checks the
 * grant on chain and logs the release, then each payload is fetched, checked and decrypted here. Nothing is stored.
 */
export async function readShared(
  session: Session,
  group: SharedGroup,
  onProgress?: Progress,
): Promise<PortalRecord[]> {
  const out: PortalRecord[] = [];
  for (let i = 0; i < group.recordIds.length; i += MAX_KEY_REQUEST_RECORDS) {
    const ids = group.recordIds.slice(i, i + MAX_KEY_REQUEST_RECORDS);
    onProgress?.(out.length, group.recordIds.length, 'Asking the node for the keys');
    const released = await session.node.releaseKeys({ grantId: group.grantId, recordIds: ids });
    await inPool(released.records, 8, async (item) => {
      const opened = await openRecordPayload(session, { stanza: item.stanza, blobId: item.blobId });
      out.push({
        recordId: item.recordId as Hex,
        blobId: item.blobId,
        publisher: group.patient,
        state: 'active',
        categoryTag: ZERO_BYTES32,
        stanza: item.stanza,
        ...opened,
        addedAt: new Date().toISOString(),
      });
      onProgress?.(out.length, group.recordIds.length, 'Decrypting records');
    });
  }
  return out;
}
