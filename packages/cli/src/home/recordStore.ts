import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assembleHeader,
  decrypt,
  encodeStanza,
  encrypt,
  type Header,
  type Identity,
  parseHeader,
  type Stanza,
  unwrapFileKey,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import type { Address, Hex } from 'viem';
import { CliError } from '../io/CliError.ts';
import type { CarekeyHome } from './carekeyHome.ts';
import {
  decodeRecordPackHeader,
  encodeRecordPackHeader,
  type RecordPackEntry,
  recordPackHeaderLength,
} from './recordPack.ts';
import { writeFileAtomic } from './writeFileAtomic.ts';

/** What a person's gateway remembers about one record it can read (kept encrypted, in `records/index.age`). */
export type LocalRecord = {
  recordId: Hex;
  /** CIDv1 of the payload on the node. */
  blobId: string;
  patient: Address;
  publisher: Address;
  resourceType: string;
  /** The FHIR resource id inside the record. */
  fhirId: string;
  /** `resourceType` or `resourceType|code`. */
  category: string;
  /** The category tag on chain (zero while untagged). */
  categoryTag: Hex;
  /** The salt of the patient commitment: known to the patient's gateway only (deleted on shred). */
  salt?: Hex | undefined;
  clinicalDate?: string | undefined;
  /** SHA-256 of the canonical JSON (the plaintext). */
  sha256: string;
  /** Where it was imported from (a file name), if imported here. */
  source?: string | undefined;
  addedAt: string;
  state: 'active' | 'pending_shred' | 'shredded';
};

type IndexDocument = { kind: 'carekey-record-index'; version: 1; records: LocalRecord[] };

const INDEX_FILE = 'index.age';

/** Where a packed local copy lies: its pack and its entry there. */
type PackedCopy = { path: string; entry: RecordPackEntry; cut: boolean };

/** The packs' headers as read from disk: each packed copy by record id, the packs whose header is damaged. */
type PackIndex = {
  byId: Map<string, PackedCopy>;
  byPack: Map<string, RecordPackEntry[]>;
  /** Each pack's inode, size and modification time when its header was read (`versionOf`). */
  versions: Map<string, string>;
  damaged: string[];
};

/**
 * The person's own copy of their records in `CAREKEY_HOME/records` (DESIGN.md: "the patient's own stanzas are also
 * kept client-side, so the patient can read and export without the node"). Each record's local copy is a complete
 * age file — the person's own stanza and the payload as stored on the node — decryptable with the `age` CLI and the
 * wallet's identity, kept either
 *
 * - in a pack, `packs/<random>.pack` (`recordPack.ts`): the copies of one batch written by `putFiles` (an import's
 *   batch, a sync's batch), one file, one fsync and one rename per batch; or
 * - loose, `<recordId>.age`: a file record (DICOM, PDF: streamed, any size), a single `putFile`, and every copy of a
 *   wallet folder of before the packs (read as they are, no migration);
 *
 * and `index.age`, the list of records (type, category, dates…), itself an age file encrypted to the person's own
 * recipient, so nothing about the records is readable without the wallet. Writing needs only the public
 * recipient; reading needs the identity.
 *
 * A crash leaves a pack whole or only its temp file (`packs/.<pid>-<random>.tmp`, removed by the next store that
 * reads the packs once its process is gone). Forgetting a record (crypto-shredding) rewrites each pack holding it
 * without it (temp file, fsync, rename over the pack): its own stanza — the only key to its payload here — is gone
 * from the wallet folder as when its loose file is deleted. Every packed copy is checked against its digest when
 * read: a flipped bit or a pack cut short is a clear error naming the pack.
 */
export class RecordStore {
  readonly dir: string;
  readonly #recipient: string;
  readonly #packsDir: string;
  /** The packs' headers, read once and again after a write or a read that found them stale. */
  #packIndex: Promise<PackIndex> | undefined;

  constructor(home: CarekeyHome, recipient: string) {
    this.dir = home.recordsDir;
    this.#recipient = recipient;
    this.#packsDir = join(this.dir, 'packs');
  }

  /** Path of a record's loose age file (a file record's, or any record's in a wallet folder of before the packs). */
  fileOf(recordId: Hex): string {
    return join(this.dir, `${recordId.toLowerCase()}.age`);
  }

  /** Reads the index; an absent index is empty. */
  async list(identity: Identity): Promise<LocalRecord[]> {
    let file: Uint8Array;
    try {
      file = await readFile(join(this.dir, INDEX_FILE));
    } catch {
      return [];
    }
    let doc: IndexDocument;
    try {
      doc = JSON.parse(new TextDecoder().decode(await decrypt({ identities: [identity], ciphertext: file })));
    } catch (cause) {
      throw new CliError(`the record index ${join(this.dir, INDEX_FILE)} cannot be read`, {
        cause,
        hint: 'it was written for another wallet, or is damaged',
      });
    }
    if (doc.kind !== 'carekey-record-index' || !Array.isArray(doc.records)) {
      throw new CliError(`${join(this.dir, INDEX_FILE)} is not a Carekey record index`);
    }
    return doc.records;
  }

  /** Replaces the index (atomically). */
  async save(records: readonly LocalRecord[]): Promise<void> {
    const doc: IndexDocument = { kind: 'carekey-record-index', version: 1, records: [...records] };
    const file = await encrypt({
      recipients: [new X25519Recipient(this.#recipient)],
      plaintext: JSON.stringify(doc),
    });
    await writeFileAtomic(join(this.dir, INDEX_FILE), file);
  }

  /** Stores a record's own age file loose: `assembleHeader(own stanza) ‖ payload`. */
  async putFile(parameters: OwnFile) {
    await writeFileAtomic(this.fileOf(parameters.recordId), ownFileBytes(parameters));
  }

  /**
   * Stores many records' own age files as one pack (`recordPack.ts`): written to a temp file, fsynced once, renamed
   * into `packs/` and the folder fsynced — all of them or none.
   */
  async putFiles(files: readonly OwnFile[]) {
    if (files.length === 0) return;
    await this.#writePack(
      join(this.#packsDir, `${randomBytes(16).toString('hex')}.pack`),
      files.map((f) => ({ recordId: f.recordId.toLowerCase(), bytes: ownFileBytes(f) })),
    );
  }

  /** Whether the record's own age file is here. @throws CliError if a damaged pack leaves it unknown. */
  async hasFile(recordId: Hex): Promise<boolean> {
    try {
      if ((await stat(this.fileOf(recordId))).isFile()) return true;
    } catch {}
    let index = await this.#packs();
    const at = index.byId.get(recordId.toLowerCase());
    // The pack as its header was read (another store of this folder may have rewritten or removed it since).
    if (at !== undefined && (await versionOf(at.path)) === index.versions.get(at.path)) return true;
    if (at !== undefined) {
      this.#packIndex = undefined;
      index = await this.#packs();
      if (index.byId.has(recordId.toLowerCase())) return true;
    } else {
      index = await this.#packsAfterMiss();
      if (index.byId.has(recordId.toLowerCase())) return true;
    }
    if (index.damaged.length > 0) throw this.#damagedPacks(index, recordId);
    return false;
  }

  /**
   * The age header of the record's own file, read without touching the payload of a loose file: sharing a 1 GiB
   * record wraps its file key and never reads the payload (no payload pass). A packed copy (a FHIR record of an
   * import's batch, small) is read whole and checked against its digest.
   */
  async readHeader(recordId: Hex): Promise<Header> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.fileOf(recordId), 'r');
    } catch (cause) {
      const packed = await this.#readPacked(recordId);
      if (packed === undefined) throw noLocalCopy(recordId, cause);
      return parseHeader(packed);
    }
    try {
      const chunks: Uint8Array[] = [];
      let length = 0;
      // The header ends with the MAC line "--- <base64>\n"; a one-stanza header is a few hundred bytes.
      for (let size = 4096; length < HEADER_LIMIT; size *= 2) {
        const buffer = new Uint8Array(size);
        const { bytesRead } = await handle.read(buffer, 0, size, length);
        chunks.push(buffer.subarray(0, bytesRead));
        length += bytesRead;
        const bytes = concat(chunks, length);
        const mac = indexOfMacLine(bytes);
        if (mac >= 0 && bytes.indexOf(0x0a, mac) >= 0) return parseHeader(bytes);
        if (bytesRead < size) return parseHeader(bytes); // end of file: let the parser say what is wrong
      }
      throw new CliError(
        `record ${recordId}: the local copy has no age header in its first ${HEADER_LIMIT} bytes`,
      );
    } finally {
      await handle.close();
    }
  }

  /** The record's own age file (loose or packed). @throws CliError if there is none, or it is damaged. */
  async readFile(recordId: Hex): Promise<Uint8Array> {
    try {
      return await readFile(this.fileOf(recordId));
    } catch (cause) {
      const packed = await this.#readPacked(recordId);
      if (packed === undefined) throw noLocalCopy(recordId, cause);
      return packed;
    }
  }

  /** The path of the record's loose age file if it is loose (a file record: to stream it), else undefined. */
  async looseFile(recordId: Hex): Promise<string | undefined> {
    try {
      return (await stat(this.fileOf(recordId))).isFile() ? this.fileOf(recordId) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The record's own age file in pieces: a loose file streamed (any size), a packed copy at once. */
  async *pieces(recordId: Hex): AsyncGenerator<Uint8Array> {
    const loose = await this.looseFile(recordId);
    if (loose === undefined) {
      yield await this.readFile(recordId);
      return;
    }
    for await (const piece of createReadStream(loose, { highWaterMark: 4 * 1024 * 1024 })) {
      yield piece as Buffer;
    }
  }

  /** Writes the record's own age file to `target` as it is (an export). */
  async copyTo(recordId: Hex, target: string): Promise<void> {
    const loose = await this.looseFile(recordId);
    if (loose !== undefined) await copyFile(loose, target);
    else await writeFile(target, await this.readFile(recordId), { mode: 0o600 });
  }

  /** Unwraps the record's file key from the own stanza in its local age file. */
  async fileKey(recordId: Hex, identity: Identity): Promise<Uint8Array> {
    const header = await this.readHeader(recordId);
    return unwrapFileKey({ stanzas: header.stanzas, identities: [identity] });
  }

  /** The own stanza of a record, as stanza text (to hand to the node). */
  async stanzaText(recordId: Hex): Promise<string> {
    const header = await this.readHeader(recordId);
    const [stanza] = header.stanzas;
    if (stanza === undefined) throw new CliError(`record ${recordId}: local copy has no stanza`);
    return encodeStanza(stanza);
  }

  /** Deletes a record's local copy (its own stanza: after a shred, the local copy is undecryptable). */
  async forgetFile(recordId: Hex): Promise<void> {
    await this.forgetFiles([recordId]);
  }

  /**
   * Deletes records' local copies (crypto-shredding, R-11): each loose file is removed, and each pack holding some
   * of them is rewritten without them (temp file, fsync, rename over it; removed once empty), so their own stanzas
   * are in no file of the wallet folder any more. A crash leaves each pack as it was or without them.
   * @throws CliError if a pack is damaged (which records it holds is unknown: a key could be left in it).
   */
  async forgetFiles(recordIds: readonly Hex[]): Promise<void> {
    if (recordIds.length === 0) return;
    const wanted = new Set(recordIds.map((id) => id.toLowerCase()));
    for (const id of wanted) await rm(this.fileOf(id as Hex), { force: true });
    this.#packIndex = undefined; // what is on disk now, not an earlier view
    const index = await this.#packs();
    if (index.damaged.length > 0) throw this.#damagedPacks(index, [...wanted][0] as Hex);
    let changed = false;
    for (const [path, entries] of index.byPack) {
      if (!entries.some((e) => wanted.has(e.recordId))) continue;
      const pack = await readFile(path);
      const kept = entries
        .filter((e) => !wanted.has(e.recordId) && e.offset + e.size <= pack.length)
        .map((e) => ({
          recordId: e.recordId,
          bytes: pack.subarray(e.offset, e.offset + e.size),
          digest: e.digest,
        }));
      if (kept.length === 0) await rm(path, { force: true });
      else await this.#writePack(path, kept);
      changed = true;
    }
    if (changed) await fsyncDir(this.#packsDir);
    this.#packIndex = undefined;
  }

  /**
   * Rewrites every local copy held here (a key rotation: each gets the new own stanza, same payload): a loose file
   * atomically, a pack once for all its records (rename over it). Returns how many were rewritten.
   */
  async rewriteFiles(change: (recordId: Hex, file: Uint8Array) => Promise<Uint8Array>): Promise<number> {
    let count = 0;
    for (const name of await readdirOrEmpty(this.dir)) {
      if (!LOOSE_NAME.test(name)) continue;
      const recordId = name.slice(0, -4) as Hex;
      await writeFileAtomic(
        this.fileOf(recordId),
        await change(recordId, await readFile(this.fileOf(recordId))),
      );
      count++;
    }
    this.#packIndex = undefined;
    const index = await this.#packs();
    if (index.damaged.length > 0) throw this.#damagedPacks(index);
    for (const [path, entries] of index.byPack) {
      const copies: { recordId: string; bytes: Uint8Array }[] = [];
      for (const entry of entries) {
        const bytes = await this.#readPacked(entry.recordId as Hex);
        if (bytes === undefined) continue;
        copies.push({ recordId: entry.recordId, bytes: await change(entry.recordId as Hex, bytes) });
      }
      if (copies.length > 0) await this.#writePack(path, copies);
      count += copies.length;
    }
    this.#packIndex = undefined;
    return count;
  }

  /** Record ids with a local copy (loose or packed). */
  async files(): Promise<Hex[]> {
    const ids = new Set(
      (await readdirOrEmpty(this.dir)).filter((n) => LOOSE_NAME.test(n)).map((n) => n.slice(0, -4)),
    );
    for (const id of (await this.#packsAfterMiss()).byId.keys()) ids.add(id);
    return [...ids] as Hex[];
  }

  /** The packs' headers (read once; `#packIndex = undefined` makes the next call read them again). */
  #packs(): Promise<PackIndex> {
    this.#packIndex ??= this.#readPacks().catch((error: unknown) => {
      this.#packIndex = undefined;
      throw error;
    });
    return this.#packIndex;
  }

  /**
   * The packs' headers, read again first when the folder's packs are not those they were read from: another store
   * of this folder (an import or a sync in another process, or another instance in this one) wrote a pack since,
   * and a record missing from the old headers may be in it. One directory listing when nothing changed.
   */
  async #packsAfterMiss(): Promise<PackIndex> {
    const index = await this.#packs();
    const names = (await readdirOrEmpty(this.#packsDir)).filter(
      (name) => name.endsWith('.pack') && !name.startsWith('.'),
    );
    if (
      names.length === index.versions.size &&
      names.every((name) => index.versions.has(join(this.#packsDir, name)))
    )
      return index;
    this.#packIndex = undefined;
    return this.#packs();
  }

  /** Reads every pack's header; removes the temp files of processes that are gone (a crash's leftovers). */
  async #readPacks(): Promise<PackIndex> {
    const index: PackIndex = { byId: new Map(), byPack: new Map(), versions: new Map(), damaged: [] };
    for (const name of (await readdirOrEmpty(this.#packsDir)).sort()) {
      const path = join(this.#packsDir, name);
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        const pid = Number(name.slice(1).split('-')[0]);
        if (!processAlive(pid)) await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.pack')) continue;
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(path, 'r');
      } catch {
        continue; // removed meanwhile (every record of it forgotten)
      }
      try {
        const info = await handle.stat();
        const fileSize = info.size;
        index.versions.set(path, `${info.ino}:${info.size}:${info.mtimeMs}`);
        const prefix = Buffer.alloc(12);
        const { bytesRead } = await handle.read(prefix, 0, prefix.length, 0);
        const length = recordPackHeaderLength(prefix.subarray(0, bytesRead));
        const header = length !== undefined && length <= fileSize ? Buffer.alloc(length) : undefined;
        if (header) await handle.read(header, 0, header.length, 0);
        const entries = header ? decodeRecordPackHeader(header) : undefined;
        if (entries === undefined) {
          index.damaged.push(path);
          continue;
        }
        index.byPack.set(path, entries);
        for (const entry of entries) {
          const cut = entry.offset + entry.size > fileSize;
          if (!index.byId.has(entry.recordId)) index.byId.set(entry.recordId, { path, entry, cut });
        }
      } finally {
        await handle.close();
      }
    }
    return index;
  }

  /**
   * A packed copy, checked against its digest; undefined if no pack holds it. A copy that does not match is read
   * once more after the headers are read again (another store of this folder may have rewritten the pack).
   */
  async #readPacked(recordId: Hex): Promise<Uint8Array | undefined> {
    const id = recordId.toLowerCase();
    for (let attempt = 0; ; attempt++) {
      let index = await this.#packs();
      let at = index.byId.get(id);
      if (at === undefined) {
        index = await this.#packsAfterMiss();
        at = index.byId.get(id);
      }
      if (at === undefined) {
        if (index.damaged.length > 0) throw this.#damagedPacks(index, recordId);
        return undefined;
      }
      const bytes = await readRange(at.path, at.entry.offset, at.entry.size);
      if (
        bytes?.length === at.entry.size &&
        createHash('sha256').update(bytes).digest().equals(at.entry.digest)
      )
        return bytes;
      if (attempt === 0) {
        this.#packIndex = undefined;
        continue;
      }
      const why =
        bytes === undefined
          ? 'it cannot be read'
          : bytes.length < at.entry.size
            ? 'the pack is cut short'
            : 'its bytes do not match their digest';
      throw new CliError(`the local copy of record ${id} is damaged (${at.path}: ${why})`, {
        hint: 'restore the wallet folder from a backup; the node still holds the record (`carekey get` it as a grantee would, or re-sync)',
      });
    }
  }

  #damagedPacks(index: PackIndex, recordId?: Hex): CliError {
    return new CliError(
      `${recordId === undefined ? 'the local copies' : `the local copy of record ${recordId.toLowerCase()}`} cannot be found for sure: ${index.damaged.join(', ')} ${index.damaged.length > 1 ? 'are' : 'is'} damaged (not a Carekey record pack, or its header fails its checksum)`,
      { hint: 'restore it from a backup, or move it out of the wallet folder to use the other records' },
    );
  }

  /**
   * Writes a pack at `path` (new, or over an older one: atomic either way): temp file in `packs/`, one writev, fsync,
   * rename, fsync of the folder.
   */
  async #writePack(
    path: string,
    copies: readonly { recordId: string; bytes: Uint8Array; digest?: Uint8Array }[],
  ) {
    if ((await mkdir(this.#packsDir, { recursive: true, mode: 0o700 })) !== undefined)
      await fsyncDir(this.dir);
    const header = encodeRecordPackHeader(
      copies.map((c) => ({
        recordId: c.recordId,
        size: c.bytes.length,
        digest: c.digest ?? createHash('sha256').update(c.bytes).digest(),
      })),
    );
    const temp = join(this.#packsDir, `.${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      try {
        const parts = [header, ...copies.map((c) => c.bytes)];
        // writev takes at most IOV_MAX (1,024) buffers a call.
        for (let at = 0; at < parts.length; at += 1024) await handle.writev(parts.slice(at, at + 1024));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await fsyncDir(this.#packsDir);
    this.#packIndex = undefined;
  }
}

const LOOSE_NAME = /^0x[0-9a-f]{64}\.age$/u;

function noLocalCopy(recordId: Hex, cause: unknown): CliError {
  return new CliError(`record ${recordId} has no local copy`, { cause, hint: 'run `carekey ls` to sync' });
}

/** A file's inode, size and modification time (a rename over it changes the inode), or undefined if it is gone. */
async function versionOf(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    return `${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch {
    return undefined;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** `size` bytes of a file from `offset`, or undefined if the file cannot be opened (removed meanwhile). */
async function readRange(path: string, offset: number, size: number): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(buffer, at, size - at, offset + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buffer.subarray(0, at);
  } finally {
    await handle.close();
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A record's own age file, before it is written. */
type OwnFile = { recordId: Hex; fileKey: Uint8Array; stanza: Stanza; payload: Uint8Array };

function ownFileBytes(parameters: OwnFile): Uint8Array {
  const header = assembleHeader({ fileKey: parameters.fileKey, stanzas: [parameters.stanza] });
  const file = new Uint8Array(header.length + parameters.payload.length);
  file.set(header, 0);
  file.set(parameters.payload, header.length);
  return file;
}

/** Largest age header read from a local file (one stanza needs a few hundred bytes). */
const HEADER_LIMIT = 1 << 20;

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Offset of the header's MAC line ("\n--- "), or -1. */
function indexOfMacLine(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(0x0a); i >= 0 && i + 4 < bytes.length; i = bytes.indexOf(0x0a, i + 1)) {
    if (bytes[i + 1] === 0x2d && bytes[i + 2] === 0x2d && bytes[i + 3] === 0x2d && bytes[i + 4] === 0x20)
      return i + 1;
  }
  return -1;
}
