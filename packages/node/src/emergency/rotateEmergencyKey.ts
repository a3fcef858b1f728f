import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { decodeStanza, encodeStanza, unwrapFileKey, wrapFileKey, X25519Identity } from '@carekey/sdk/crypto';
import type { Sql } from '../db/Sql.ts';
import type { EmergencyServices } from './EmergencyServices.ts';
import { emergencyKeyPath, loadEmergencyKey } from './loadEmergencyKey.ts';

/** Where a rotation keeps the new key until every emergency stanza is re-wrapped to it. */
export function nextEmergencyKeyPath(dataDir: string): string {
  return `${emergencyKeyPath(dataDir)}.next`;
}

export type RotateEmergencyKeyReturnType = {
  /** The new key's recipient (`GET /v1/emergency` serves it from now on). */
  recipient: string;
  previousRecipient: string;
  /** Emergency stanzas re-wrapped from the old key to the new one. */
  rewrapped: number;
  /** Stanzas that opened with neither key (left as they were; the patient's next `emergency refresh` replaces them). */
  unreadable: number;
};

const BATCH = 500;

function fsyncDir(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function opensWith(stanza: string, identity: X25519Identity): Promise<Uint8Array | undefined> {
  try {
    return await unwrapFileKey({ stanzas: [decodeStanza(stanza)], identities: [identity] });
  } catch {
    return undefined;
  }
}

/** Re-wraps every emergency stanza that opens with `old` to `next`, in batches; each row compare-and-set. */
async function rewrapAll(sql: Sql, old: X25519Identity | undefined, next: X25519Identity) {
  let rewrapped = 0;
  let unreadable = 0;
  let after: Uint8Array = new Uint8Array(0);
  const to = next.recipient;
  for (;;) {
    const { rows } = await sql.query<{ record_id: Uint8Array; stanza: string }>(
      'select record_id, stanza from emergency_stanzas where record_id > $1 order by record_id limit $2',
      [after, BATCH],
    );
    if (rows.length === 0) break;
    after = (rows.at(-1) as { record_id: Uint8Array }).record_id;
    await sql.transaction(async (tx) => {
      for (const row of rows) {
        const already = await opensWith(row.stanza, next);
        if (already !== undefined) {
          already.fill(0);
          continue;
        }
        const fileKey = old === undefined ? undefined : await opensWith(row.stanza, old);
        if (fileKey === undefined) {
          unreadable++;
          continue;
        }
        const stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: to }));
        fileKey.fill(0);
        // A stanza the patient replaced meanwhile (for the new key: PUT checks it) is left alone.
        const updated = await tx.query(
          'update emergency_stanzas set stanza = $3, updated_at = now() where record_id = $1 and stanza = $2',
          [row.record_id, row.stanza, stanza],
        );
        rewrapped += updated.rowCount;
      }
    });
  }
  return { rewrapped, unreadable };
}

/**
 * Rotates the node's emergency X25519 key (docs/emergency.md, "Rotating the emergency key"): a new key is written
 * beside the old one (`identity.key.next`, 0600, fsynced), the running node switches to it at once (a break-glass
 * during the rotation opens stanzas with either key; new stanzas must be for the new one), every emergency stanza
 * is unwrapped with the old key and wrapped to the new one in the database (the file keys pass through this
 * process's memory only, as in a break-glass), then the new key replaces the old file atomically and the old key is
 * dropped from memory. Interrupted at any point, the next start finishes it (`resumeEmergencyKeyRotation`).
 *
 * @throws {DataDirError} the key files cannot be read or written; SQL errors (the rotation resumes at the next start).
 */
export async function rotateEmergencyKey(parameters: {
  dataDir: string;
  sql: Sql;
  /** The running node's emergency services, switched to the new key (absent: the node is not running). */
  emergency?: EmergencyServices | undefined;
}): Promise<RotateEmergencyKeyReturnType> {
  const { dataDir, sql, emergency } = parameters;
  const nextPath = nextEmergencyKeyPath(dataDir);
  if (existsSync(nextPath)) {
    // An interrupted rotation: finish it first, then rotate again.
    await resumeEmergencyKeyRotation({ dataDir, sql, emergency });
  }
  const old = emergency?.identity ?? loadEmergencyKey(dataDir);
  const next = X25519Identity.generate();
  writeFileSync(nextPath, `${next.toString()}\n`, { mode: 0o600, flush: true });
  fsyncDir(nextPath);
  return finish({ dataDir, sql, emergency, old, next });
}

async function finish(parameters: {
  dataDir: string;
  sql: Sql;
  emergency?: EmergencyServices | undefined;
  old: X25519Identity | undefined;
  next: X25519Identity;
}): Promise<RotateEmergencyKeyReturnType> {
  const { dataDir, sql, emergency, old, next } = parameters;
  const previousRecipient = old?.recipient.toString() ?? '';
  if (emergency !== undefined) {
    emergency.previous = old;
    emergency.identity = next;
    emergency.recipient = next.recipient.toString();
  }
  try {
    const counts = await rewrapAll(sql, old, next);
    renameSync(nextEmergencyKeyPath(dataDir), emergencyKeyPath(dataDir));
    fsyncDir(emergencyKeyPath(dataDir));
    return { recipient: next.recipient.toString(), previousRecipient, ...counts };
  } finally {
    if (emergency !== undefined) emergency.previous = undefined;
  }
}

/**
 * Finishes a rotation a crash interrupted, before the node serves: with `identity.key.next` present, every
 * emergency stanza still for the old key is re-wrapped to the new one and the new key takes the old one's place.
 * A `.next` file that does not hold a key (the crash came while it was written) is deleted and nothing changes.
 *
 * @returns what was finished, or `undefined` when no rotation was under way.
 */
export async function resumeEmergencyKeyRotation(parameters: {
  dataDir: string;
  sql: Sql;
  emergency?: EmergencyServices | undefined;
}): Promise<RotateEmergencyKeyReturnType | undefined> {
  const { dataDir, sql, emergency } = parameters;
  const nextPath = nextEmergencyKeyPath(dataDir);
  if (!existsSync(nextPath)) return undefined;
  let next: X25519Identity;
  try {
    next = new X25519Identity(readFileSync(nextPath, 'utf8').trim());
  } catch {
    rmSync(nextPath, { force: true });
    return undefined;
  }
  let old: X25519Identity | undefined;
  try {
    old = emergency?.identity ?? new X25519Identity(readFileSync(emergencyKeyPath(dataDir), 'utf8').trim());
  } catch {
    old = undefined;
  }
  if (old !== undefined && old.toString() === next.toString()) old = undefined;
  return finish({ dataDir, sql, emergency, old, next });
}
