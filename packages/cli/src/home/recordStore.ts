import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
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
import { writeFileAtomic, writeFilesAtomic } from './writeFileAtomic.ts';

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

/**
 * The person's own copy of their records in `CAREKEY_HOME/records` (DESIGN.md: "the patient's own stanzas are also
 * kept client-side, so the patient can read and export without the node"):
 *
 * - `<recordId>.age`: a complete age file — the person's own stanza and the payload as stored on the node —
 *   decryptable with the `age` CLI and the wallet's identity;
 * - `index.age`: the list of records (type, category, dates…), itself an age file encrypted to the person's own
 *   recipient, so nothing about the records is readable without the wallet. Writing needs only the public
 *   recipient; reading needs the identity.
 */
export class RecordStore {
  readonly dir: string;
  readonly #recipient: string;

  constructor(home: CarekeyHome, recipient: string) {
    this.dir = home.recordsDir;
    this.#recipient = recipient;
  }

  /** Path of a record's age file. */
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

  /** Stores a record's own age file: `assembleHeader(own stanza) ‖ payload`. */
  async putFile(parameters: OwnFile) {
    await writeFileAtomic(this.fileOf(parameters.recordId), ownFileBytes(parameters));
  }

  /** Stores many records' own age files at once (one grouped fsync: `writeFilesAtomic`). */
  async putFiles(files: readonly OwnFile[]) {
    await writeFilesAtomic(
      this.dir,
      files.map((f) => ({ name: `${f.recordId.toLowerCase()}.age`, data: ownFileBytes(f) })),
    );
  }

  /** Whether the record's own age file is here. */
  async hasFile(recordId: Hex): Promise<boolean> {
    try {
      return (await stat(this.fileOf(recordId))).isFile();
    } catch {
      return false;
    }
  }

  /**
   * The age header of the record's own file, read without touching the payload: sharing a 1 GiB record wraps its
   * file key and never reads the payload (no payload pass).
   */
  async readHeader(recordId: Hex): Promise<Header> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.fileOf(recordId), 'r');
    } catch (cause) {
      throw new CliError(`record ${recordId} has no local copy`, { cause, hint: 'run `carekey ls` to sync' });
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

  /** The record's own age file. */
  async readFile(recordId: Hex): Promise<Uint8Array> {
    try {
      return await readFile(this.fileOf(recordId));
    } catch (cause) {
      throw new CliError(`record ${recordId} has no local copy`, { cause, hint: 'run `carekey ls` to sync' });
    }
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

  /** Deletes a record's local age file (its own stanza: after a shred, the local copy is undecryptable). */
  async forgetFile(recordId: Hex): Promise<void> {
    await rm(this.fileOf(recordId), { force: true });
  }

  /** Record ids with a local age file. */
  async files(): Promise<Hex[]> {
    try {
      return (await readdir(this.dir))
        .filter((n) => /^0x[0-9a-f]{64}\.age$/u.test(n))
        .map((n) => n.slice(0, -4) as Hex);
    } catch {
      return [];
    }
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
