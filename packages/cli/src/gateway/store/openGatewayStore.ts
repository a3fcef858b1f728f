/**
 * # Gateway store — the decrypted records a gateway can read, kept locally (docs/gateway.md, "Local store")
 *
 * API (for the gateway server, `carekey timeline`/`labs`/`summary`, CDS Hooks):
 *
 * ```ts
 * const session = await openSession();                      // unlocked wallet + node client
 * const store = await openGatewayStore(session);            // { home, keys } is enough (no node needed)
 * await store.sync(session, { onProgress: (m) => progress(m) }); // pull from the node, verify, decrypt, prune
 * store.all();                                              // every StoredRecord (resource + provenance)
 * store.search({ patient, resourceType: 'Observation', category: 'laboratory', code: 'http://loinc.org|4548-4',
 *                dateFrom: '2020-01', dateTo: '2021-12-31' });  // StoredRecord[], oldest clinical date first
 * store.get('Observation', id);                             // StoredRecord | undefined
 * store.getRecord(recordId);                                // by Carekey record id
 * ```
 *
 * Each {@link StoredRecord} carries the FHIR `resource` and its provenance: `recordId`, `patient` (the Carekey
 * identity whose record it is), `custodian` (the publishing institution's address when known), `category`,
 * `clinicalDate`, `grantId` (the grant it was read under; zero bytes for the identity's own records) and `sha256`
 * (of the canonical JSON).
 *
 * At rest the store is one age file, `CAREKEY_HOME/gateway/store.age`, encrypted to the wallet's own X25519
 * recipient (written atomically, mode 0600): decrypted FHIR exists only in the gateway's memory; the disk holds
 * ciphertext only the wallet opens. Records are removed on the next sync once a grant no longer covers them
 * (revoked, expired) or they are shredded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { decrypt, encrypt, type Identity, X25519Recipient } from '@carekey/sdk/crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { Session } from '../../commands/openSession.ts';
import type { CarekeyHome } from '../../home/carekeyHome.ts';
import { writeFileAtomic } from '../../home/writeFileAtomic.ts';
import { CliError } from '../../io/CliError.ts';
import { type DateRange, fhirDateRange } from './fhirDates.ts';
import { type SyncGatewayStoreReturnType, syncGatewayStore } from './syncGatewayStore.ts';

/** One decrypted record with its provenance. */
export type StoredRecord = {
  /** Carekey record id (random 32 bytes, hex). */
  recordId: Hex;
  /** CIDv1 of the ciphertext on the node (checked against the bytes when fetched). */
  blobId: string;
  /** The Carekey identity whose record this is. */
  patient: Address;
  /** Who published it: `meta.source` (the publisher's DID, stamped at import), else the publisher's address when known, else null. */
  custodian: string | null;
  resourceType: string;
  /** The FHIR resource id. */
  fhirId: string;
  /** `resourceType` or `resourceType|code` (as `recordCategory`). */
  category: string;
  /** The resource's clinical date as written in it (`clinicalDate`), or null. */
  clinicalDate: string | null;
  /** The grant it was read under; `0x00…00` for the identity's own records. */
  grantId: Hex;
  /** SHA-256 (hex) of the resource's canonical JSON. */
  sha256: string;
  /** When this gateway first stored it (ISO). */
  syncedAt: string;
  resource: Resource;
};

/** Filters of {@link GatewayStore.search}; every given filter must match. */
export type GatewaySearchQuery = {
  /** Carekey identity (or identities) of the patient. */
  patient?: Address | readonly Address[] | undefined;
  resourceType?: string | readonly string[] | undefined;
  /** A Carekey category (`Observation|laboratory`) or a category code (`laboratory`, `system|code`). */
  category?: string | undefined;
  /** A token: `code`, `system|code` or `system|` matched against the resource's codes ({@link codesOf}). */
  code?: string | undefined;
  /** FHIR date: keeps records whose clinical date ends after its start (inclusive of that day/month/year). */
  dateFrom?: string | undefined;
  /** FHIR date: keeps records whose clinical date starts before its end. */
  dateTo?: string | undefined;
  /** Only records read under this grant. */
  grantId?: Hex | undefined;
};

/** The keys a store needs: the wallet's identity (to open it) and its recipient (to save it). */
export type OpenGatewayStoreParameters = {
  home: CarekeyHome;
  keys: { address: Address; identity: Identity; recipient: string };
};

type StoreDocument = {
  kind: 'carekey-gateway-store';
  version: 1;
  owner: Address;
  syncedAt: string | null;
  records: StoredRecord[];
};

/** Elements holding a resource's main code, by resource type (the `code` search parameter's paths in R4). */
const CODE_ELEMENTS = ['code', 'medicationCodeableConcept', 'vaccineCode', 'type', 'substance'] as const;

type Coding = { system?: string; code?: string; display?: string };

function codingsIn(value: unknown): Coding[] {
  const out: Coding[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (v !== null && typeof v === 'object') {
      const coding = (v as { coding?: unknown }).coding;
      if (Array.isArray(coding))
        for (const c of coding) if (c && typeof c === 'object') out.push(c as Coding);
    }
  };
  visit(value);
  return out;
}

/** The codings of a resource's main code (`code`, `medicationCodeableConcept`, `vaccineCode`, `type`...). */
export function codesOf(resource: Resource): Coding[] {
  const r = resource as unknown as Record<string, unknown>;
  for (const element of CODE_ELEMENTS) {
    const found = codingsIn(r[element]);
    if (found.length > 0) return found;
  }
  return [];
}

/** The codings of a resource's `category` element. */
export function categoriesOf(resource: Resource): Coding[] {
  return codingsIn((resource as unknown as Record<string, unknown>).category);
}

/** Whether a FHIR token (`code`, `system|code`, `system|`, `|code`) matches one of the codings. */
export function tokenMatches(token: string, codings: readonly Coding[]): boolean {
  const bar = token.indexOf('|');
  if (bar < 0) return codings.some((c) => c.code === token);
  const system = token.slice(0, bar);
  const code = token.slice(bar + 1);
  return codings.some(
    (c) => (system === '' ? c.system === undefined : c.system === system) && (code === '' || c.code === code),
  );
}

const asList = <value>(v: value | readonly value[] | undefined): readonly value[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? (v as readonly value[]) : [v as value];

/**
 * A gateway's local store (see the note at the top of this file). Not safe for two writers at once: the last
 * `sync` to finish wins, and each writes a complete, consistent file.
 */
export class GatewayStore {
  /** The encrypted store file. */
  readonly file: string;
  /** The identity whose gateway this is. */
  readonly owner: Address;
  readonly #recipient: string;
  #records = new Map<string, StoredRecord>();
  #byFhirId = new Map<string, StoredRecord>();
  /** Every record, oldest clinical date first (undated last): searches walk it in order. */
  #sorted: StoredRecord[] = [];
  #ranges = new Map<StoredRecord, DateRange | undefined>();
  /** Lower-cased terms → the records holding them (built on first use, dropped by `replace`). */
  #terms: Map<string, Set<StoredRecord>> | undefined;
  #syncedAt: string | null = null;
  /** The latest snapshot instant handed out (ms): records stored later are stamped strictly after it. */
  #snapshotAt = 0;

  constructor(file: string, owner: Address, recipient: string, doc?: StoreDocument) {
    this.file = file;
    this.owner = owner;
    this.#recipient = recipient;
    if (doc !== undefined) {
      this.#syncedAt = doc.syncedAt;
      this.replace(doc.records);
    }
  }

  /** When the last sync finished (ISO), or null before the first. */
  get syncedAt(): string | null {
    return this.#syncedAt;
  }

  /**
   * The instant of a snapshot read now (Bulk `$export`'s transactionTime): every record already stored arrived
   * at or before it, and every record stored later gets an {@link arrivalStamp} strictly after it, so an export
   * `_since` that instant misses nothing and repeats nothing.
   */
  snapshotInstant(): Date {
    const now = Date.now();
    this.#snapshotAt = Math.max(this.#snapshotAt, now);
    return new Date(now);
  }

  /** The `syncedAt` for records stored now: now, or just after the latest snapshot if the clock has not moved. */
  arrivalStamp(): string {
    return new Date(Math.max(Date.now(), this.#snapshotAt + 1)).toISOString();
  }

  /** Every stored record, oldest clinical date first (undated last). */
  all(): readonly StoredRecord[] {
    return this.#sorted;
  }

  /** Patients with at least one stored record. */
  patients(): Address[] {
    return [...new Set([...this.#records.values()].map((r) => r.patient))];
  }

  /** The record holding FHIR resource `type/id` (the first stored when two records carry the same resource). */
  get(resourceType: string, id: string): StoredRecord | undefined {
    return this.#byFhirId.get(`${resourceType}/${id}`);
  }

  /** The record with this Carekey record id. */
  getRecord(recordId: Hex): StoredRecord | undefined {
    return this.#records.get(recordId.toLowerCase());
  }

  /** Records matching every given filter, oldest clinical date first. */
  search(query: GatewaySearchQuery = {}): StoredRecord[] {
    const patients = asList(query.patient)?.map((p) => p.toLowerCase());
    const types = asList(query.resourceType);
    const from = query.dateFrom === undefined ? undefined : dateOrThrow(query.dateFrom);
    const to = query.dateTo === undefined ? undefined : dateOrThrow(query.dateTo);
    const out: StoredRecord[] = [];
    for (const r of this.#sorted) {
      if (patients !== undefined && !patients.includes(r.patient.toLowerCase())) continue;
      if (types !== undefined && !types.includes(r.resourceType)) continue;
      if (query.grantId !== undefined && r.grantId.toLowerCase() !== query.grantId.toLowerCase()) continue;
      if (
        query.category !== undefined &&
        r.category !== query.category &&
        !tokenMatches(query.category, categoriesOf(r.resource))
      )
        continue;
      if (query.code !== undefined && !tokenMatches(query.code, codesOf(r.resource))) continue;
      if (from !== undefined || to !== undefined) {
        const range = this.#ranges.get(r);
        if (range === undefined) continue;
        if (from !== undefined && range.end <= from.start) continue;
        if (to !== undefined && range.start >= to.end) continue;
      }
      out.push(r);
    }
    return out;
  }

  /**
   * The records whose resource holds `term` (compared lower-cased): as any string, number or boolean value, as
   * `system|code` of a coding or `system|value` of an identifier, or — for a value with slashes, a reference — as
   * its last `Type/id` or `id`. A superset of the records a token or reference search value can match, so a search
   * may narrow its candidates to it before the exact matcher runs (an inverted index, built on first use).
   */
  withTerm(term: string): ReadonlySet<StoredRecord> {
    this.#terms ??= buildTermIndex(this.#sorted);
    return this.#terms.get(term.toLowerCase()) ?? EMPTY;
  }

  /** The interval of a stored record's clinical date (cached), or undefined when it has none. */
  dateRangeOf(record: StoredRecord): DateRange | undefined {
    return this.#ranges.get(record);
  }

  /**
   * Brings the store up to date with the node: the identity's own records (synced into the wallet folder first)
   * and every record shared with it; verifies, decrypts, prunes what is no longer readable, and saves.
   */
  async sync(
    session: Session,
    options: { onProgress?: (message: string) => void } = {},
  ): Promise<SyncGatewayStoreReturnType> {
    const result = await syncGatewayStore({ session, store: this, ...options });
    return result;
  }

  /** Replaces the whole content (used by sync) without saving. */
  replace(records: readonly StoredRecord[]): void {
    this.#terms = undefined;
    this.#records = new Map(records.map((r) => [r.recordId.toLowerCase(), r]));
    this.#byFhirId = new Map();
    this.#ranges = new Map(
      records.map((r) => [r, r.clinicalDate === null ? undefined : fhirDateRange(r.clinicalDate)]),
    );
    const start = (r: StoredRecord) => this.#ranges.get(r)?.start ?? Number.POSITIVE_INFINITY;
    this.#sorted = [...this.#records.values()].sort(
      (a, b) => start(a) - start(b) || (a.recordId < b.recordId ? -1 : 1),
    );
    for (const r of records) {
      const key = `${r.resourceType}/${r.fhirId}`;
      if (!this.#byFhirId.has(key)) this.#byFhirId.set(key, r);
    }
  }

  /** Writes the store (encrypted to the wallet's own recipient, atomically). */
  async save(syncedAt: string | null = this.#syncedAt): Promise<void> {
    this.#syncedAt = syncedAt;
    const doc: StoreDocument = {
      kind: 'carekey-gateway-store',
      version: 1,
      owner: this.owner,
      syncedAt,
      records: [...this.#records.values()],
    };
    const file = await encrypt({
      recipients: [new X25519Recipient(this.#recipient)],
      plaintext: JSON.stringify(doc),
    });
    await writeFileAtomic(this.file, file);
  }
}

const EMPTY: ReadonlySet<StoredRecord> = new Set();

/** The inverted index of {@link GatewayStore.withTerm}. */
function buildTermIndex(records: readonly StoredRecord[]): Map<string, Set<StoredRecord>> {
  const index = new Map<string, Set<StoredRecord>>();
  for (const record of records) {
    const terms = new Set<string>();
    const add = (term: string) => terms.add(term.toLowerCase());
    const visit = (value: unknown): void => {
      if (typeof value === 'string') {
        add(value);
        const parts = value.split('/');
        if (parts.length > 1) {
          const history = parts.indexOf('_history');
          const end = history > 0 ? history : parts.length;
          if (end >= 2) add(`${parts[end - 2]}/${parts[end - 1]}`);
          add(parts[end - 1] ?? '');
        }
      } else if (typeof value === 'number' || typeof value === 'boolean') add(String(value));
      else if (Array.isArray(value)) for (const v of value) visit(v);
      else if (value !== null && typeof value === 'object') {
        const o = value as Record<string, unknown>;
        if (typeof o.system === 'string' && typeof o.code === 'string') add(`${o.system}|${o.code}`);
        if (typeof o.system === 'string' && typeof o.value === 'string') add(`${o.system}|${o.value}`);
        for (const v of Object.values(o)) visit(v);
      }
    };
    visit(record.resource);
    for (const term of terms) {
      const holders = index.get(term);
      if (holders === undefined) index.set(term, new Set([record]));
      else holders.add(record);
    }
  }
  return index;
}

function dateOrThrow(value: string): DateRange {
  const range = fhirDateRange(value);
  if (range === undefined) {
    throw new CliError(`not a FHIR date: ${JSON.stringify(value)}`, {
      hint: 'write e.g. 2024, 2024-05 or 2024-05-31',
    });
  }
  return range;
}

/** Path of the gateway store in a Carekey home. */
export function gatewayStoreFile(home: CarekeyHome): string {
  return join(home.dir, 'gateway', 'store.age');
}

/**
 * Opens the gateway store of the wallet in `home` (an empty store when none was synced yet).
 *
 * @throws CliError when the file cannot be decrypted with this wallet or is not a gateway store.
 * @example
 * const store = await openGatewayStore(session);
 * const labs = store.search({ resourceType: 'Observation', category: 'laboratory' });
 */
export async function openGatewayStore(parameters: OpenGatewayStoreParameters): Promise<GatewayStore> {
  const { home, keys } = parameters;
  const file = gatewayStoreFile(home);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    return new GatewayStore(file, keys.address, keys.recipient);
  }
  let doc: StoreDocument;
  try {
    doc = JSON.parse(
      new TextDecoder().decode(await decrypt({ identities: [keys.identity], ciphertext: bytes })),
    );
  } catch (cause) {
    throw new CliError(`the gateway store ${file} cannot be read`, {
      cause,
      hint: 'it was written for another wallet, or is damaged; delete it and sync again',
    });
  }
  if (doc.kind !== 'carekey-gateway-store' || doc.version !== 1 || !Array.isArray(doc.records)) {
    throw new CliError(`${file} is not a Carekey gateway store`);
  }
  return new GatewayStore(file, keys.address, keys.recipient, doc);
}

export { ZERO_BYTES32 as OWN_RECORD_GRANT };
