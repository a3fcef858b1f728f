import {
  decodeStanza,
  decrypt,
  decryptPayload,
  encrypt,
  unwrapFileKey,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import type { EmergencyAccess } from '@carekey/sdk/emergency';
import { type Address, getAddress, type Hex } from 'viem';
import { emergencyClient } from './emergency.ts';
import { idbGet, idbSet } from './idb.ts';
import type { Resource } from './records.ts';
import type { Session } from './session.ts';

/** A break-glass the node allowed: the records it released, decrypted here, and until when. */
export type OpenedEmergency = {
  access: EmergencyAccess;
  summary: Resource | undefined;
  /** The other records (policy "everything"). */
  records: Resource[];
};

/** A break-glass this clinician opened from this browser: enough to list it and re-open it while it runs. */
export type KeptAccess = {
  accessId: Hex;
  patient: Address;
  scope: 'summary' | 'all';
  /** ISO time the access ends (the node's, as it answered). */
  expiresAt: string;
};

/** How long an ended access stays in the list (saying it has expired) before it is dropped. */
const KEEP_ENDED_MS = 24 * 3600_000;

const decoder = new TextDecoder();
const storeKey = (session: Session) => `emergency-accesses:${session.identity.toLowerCase()}`;

/**
 * The break-glass accesses I opened from this browser (running ones, and ones ended within a day), soonest ending
 * first. Kept in IndexedDB encrypted to my own key (who I treated is nobody else's business; UX 14).
 */
export async function listKeptAccesses(session: Session): Promise<KeptAccess[]> {
  const sealed = await idbGet<Uint8Array>(storeKey(session));
  if (sealed === undefined) return [];
  const text = decoder.decode(await decrypt({ identities: [session.keys.identity], ciphertext: sealed }));
  const now = Date.now();
  return (JSON.parse(text) as KeptAccess[])
    .filter((a) => Date.parse(a.expiresAt) + KEEP_ENDED_MS > now)
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
}

async function saveKeptAccesses(session: Session, list: readonly KeptAccess[]): Promise<void> {
  const sealed = await encrypt({
    recipients: [new X25519Recipient(session.keys.recipient)],
    plaintext: JSON.stringify(list),
  });
  await idbSet(storeKey(session), sealed);
}

/** Keeps (or updates) one access in this browser's list, so it can be re-opened after leaving the page. */
export async function keepAccess(session: Session, access: EmergencyAccess): Promise<KeptAccess[]> {
  const kept: KeptAccess = {
    accessId: access.accessId.toLowerCase() as Hex,
    patient: getAddress(access.patient),
    scope: access.scope,
    expiresAt: new Date(access.expiresAt).toISOString(),
  };
  const list = (await listKeptAccesses(session)).filter((a) => a.accessId !== kept.accessId);
  list.push(kept);
  await saveKeptAccesses(session, list);
  return listKeptAccesses(session);
}

/** Marks an access ended now (the node said it has expired, whatever this device's clock thinks). */
export async function endKeptAccess(session: Session, accessId: Hex): Promise<KeptAccess[]> {
  const now = new Date().toISOString();
  const list = (await listKeptAccesses(session)).map((a) =>
    a.accessId === accessId.toLowerCase() && a.expiresAt > now ? { ...a, expiresAt: now } : a,
  );
  await saveKeptAccesses(session, list);
  return listKeptAccesses(session);
}

/** Downloads what a break-glass released and decrypts it here (each payload with its re-wrapped file key). */
export async function openReleased(session: Session, access: EmergencyAccess): Promise<OpenedEmergency> {
  let summary: Resource | undefined;
  const records: Resource[] = [];
  for (const released of access.records) {
    const payload = await session.node.getBlob(released.blobId);
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(released.stanza)],
      identities: [session.keys.identity],
    });
    let resource: Resource;
    try {
      resource = JSON.parse(decoder.decode(decryptPayload({ fileKey, payload }))) as Resource;
    } finally {
      fileKey.fill(0);
    }
    if (released.summary) summary = resource;
    else records.push(resource);
  }
  return { access, summary, records };
}

/**
 * Re-opens a break-glass that still runs (`GET /v1/emergency/access/{id}`, as `carekey emergency open` does
 * within the time limit): the node checks again that it has not expired, that my credential still holds and that
 * the patient's policy still allows it, logs the reading, and re-wraps the current summary's key to me; decrypted
 * here. Nothing new is signed, and it does not count as another use.
 *
 * @throws NodeProblemError 403 `access-expired` / `credential-refused` / `policy-off`, 404 `unknown-access`.
 */
export async function reopenAccess(session: Session, accessId: Hex): Promise<OpenedEmergency> {
  const access = await emergencyClient(session).access(accessId);
  await keepAccess(session, access);
  return openReleased(session, access);
}
