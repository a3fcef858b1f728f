import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { blobIdFromDigest, MAX_BLOB_BATCH_COUNT, parseBlobId } from '@carekey/sdk/blobs';
import {
  buildRecordTree,
  hashPatientCommitment,
  type RecordLeaf,
  ScopeKind,
  toPublishTypedData,
  ZERO_BYTES32,
} from '@carekey/sdk/chain';
import {
  assembleHeader,
  encodeStanza,
  encryptPayload,
  type Stanza,
  wrapFileKey,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import { FhirError } from '@carekey/sdk/errors';
import {
  categoryTag,
  convertCcda,
  type FhirRecord,
  fhirXmlToJson,
  isFhirXml,
  loadR4Definitions,
  sessionCategoryKey,
  splitIntoRecords,
} from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources, prepareFileImport, sniffFileKind } from '@carekey/sdk/fhir/node';
import { AUTH_HEADER, signNodeRequest } from '@carekey/sdk/protocol';
import { type Address, bytesToHex, type Hex, isAddressEqual } from 'viem';
import { didOf } from '../home/nodeFacts.ts';
import type { LocalRecord } from '../home/recordStore.ts';
import { CliError } from '../io/CliError.ts';
import { progress } from '../io/progress.ts';
import type { Session } from './openSession.ts';
import { signatureContext } from './signatureContext.ts';

/** Most records per published batch (the vault's limit): a larger import is several batches, one chain write each. */
export const BATCH_SIZE = 1000;
/** Uploads in flight at once. */
const UPLOAD_CONCURRENCY = 8;

export type PublishFhirParameters = {
  session: Session;
  /** The file: FHIR R4 JSON (a Bundle or one resource), a C-CDA XML document, a DICOM file or a PDF. */
  file: string;
  /** Whose records these are (the session's own identity for an import). */
  patient: Address;
};

export type PublishFhirReturnType = {
  patient: Address;
  publisher: Address;
  records: LocalRecord[];
  batches: { root: Hex; count: number }[];
  /** What the input was read as. */
  format: 'fhir-json' | 'fhir-xml' | 'ccda' | 'dicom' | 'pdf';
  /** Repairs made to a C-CDA converter's output (docs/fhir.md, "C-CDA"). */
  repairs?: string[];
};

/** One record to publish: FHIR JSON in memory, or a file already encrypted to a payload file. */
export type PublishItem = {
  recordId: Hex;
  resourceType: string;
  fhirId: string;
  category: string;
  clinicalDate?: string | undefined;
  /** SHA-256 (hex) of the plaintext. */
  sha256: string;
} & (
  | { plaintext: Uint8Array }
  | { payloadFile: string; payloadSha256: Uint8Array; payloadSize: number; fileKey: Uint8Array }
);

/** Turns any fault of reading or validating the input into one line; nothing has changed yet. */
function oneLine(file: string, error: unknown): never {
  if (error instanceof FhirError || error instanceof CliError) throw error;
  throw new CliError(`cannot read ${file}`, { cause: error, hint: 'check the path' });
}

function random32(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

async function inPool<item, result>(items: readonly item[], run: (x: item, i: number) => Promise<result>) {
  const out = new Array<result>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await run(items[i] as item, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, items.length) }, worker));
  return out;
}

/** FHIR records as publish items (their canonical JSON is the plaintext). */
export function itemsOfRecords(records: readonly FhirRecord[]): PublishItem[] {
  const encoder = new TextEncoder();
  return records.map((r) => ({
    recordId: random32(),
    resourceType: r.resourceType,
    fhirId: r.id,
    category: r.category,
    clinicalDate: r.clinicalDate,
    sha256: r.sha256,
    plaintext: encoder.encode(r.canonicalJson),
  }));
}

/**
 * Reads the input by its content: DICOM (`DICM` at 128) or PDF (`%PDF-`) become a file record plus the FHIR record
 * describing it (docs/fhir.md, "Files"); XML is C-CDA (converted with `@medplum/ccda`); anything else is FHIR JSON.
 * Every record gets the custodian (the publisher's DID) as `meta.source`. Any fault throws before anything is sent.
 */
export async function readImport(parameters: { file: string; custodian: string; workDir: string }): Promise<{
  items: PublishItem[];
  format: PublishFhirReturnType['format'];
  repairs?: string[];
}> {
  const { file, custodian } = parameters;
  const kind = await sniffFileKind(file).catch((e: unknown) => oneLine(file, e));
  if (kind !== undefined) {
    const fileRecordId = random32();
    const payloadOutput = join(parameters.workDir, `${fileRecordId}.payload`);
    const prepared = await prepareFileImport({ file, fileRecordId, payloadOutput, custodian });
    const described = itemsOfRecords([prepared.record]);
    const fileItem: PublishItem = {
      recordId: fileRecordId,
      resourceType: 'Binary',
      fhirId: prepared.record.id,
      category: `Binary|${prepared.contentType}`,
      clinicalDate: prepared.record.clinicalDate,
      sha256: prepared.sha256,
      payloadFile: payloadOutput,
      payloadSha256: prepared.payloadSha256,
      payloadSize: prepared.payloadSize,
      fileKey: prepared.fileKey,
    };
    return { items: [...described, fileItem], format: kind };
  }
  const input = await readFile(file).catch((e: unknown) => oneLine(file, e));
  const definitions = { sources: nodeR4DefinitionSources };
  const firstByte = input.find(
    (b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf,
  );
  if (firstByte === 0x3c /* '<' */) {
    // FHIR XML (root in the FHIR namespace, e.g. the HL7 IPS examples) or else C-CDA.
    let xml: string | undefined;
    try {
      xml = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      xml = undefined; // convertCcda says where the UTF-8 is broken
    }
    if (xml !== undefined && isFhirXml(xml)) {
      await loadR4Definitions(definitions);
      const { records } = await splitIntoRecords({ input: fhirXmlToJson(xml), definitions, custodian });
      return { items: itemsOfRecords(records), format: 'fhir-xml' };
    }
    const { bundle, repairs } = convertCcda({ input });
    const { records } = await splitIntoRecords({ input: bundle, definitions, custodian });
    return { items: itemsOfRecords(records), format: 'ccda', repairs };
  }
  const { records } = await splitIntoRecords({ input, definitions, custodian });
  if (records.length === 0) throw new CliError(`${file} holds no FHIR resources`);
  return { items: itemsOfRecords(records), format: 'fhir-json' };
}

/**
 * Publishes FHIR or a file for a patient (docs/protocol.md flow 1): reads and validates the input (`readImport`),
 * then `publishItems`. Nothing reaches the node unless the whole input is valid.
 */
export async function publishFhir(parameters: PublishFhirParameters): Promise<PublishFhirReturnType> {
  const { session, patient } = parameters;
  const description = await session.node.describe();
  const custodian = didOf(session.keys.address, description.chainId);
  const workDir = await mkdtemp(join(tmpdir(), 'carekey-import-'));
  try {
    const read = await readImport({ file: parameters.file, custodian, workDir });
    const published = await publishItems({
      session,
      patient,
      items: read.items,
      source: basename(parameters.file),
    });
    return {
      ...published,
      format: read.format,
      ...(read.repairs === undefined ? {} : { repairs: read.repairs }),
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * `PUT /v1/blobs/{cid}` of a payload file, streamed from disk (never whole in memory): the signed request binds
 * the CID, which is the payload's SHA-256 computed while encrypting.
 */
async function putBlobFile(session: Session, item: { payloadFile: string; payloadSha256: Uint8Array }) {
  const description = await session.node.describe();
  const cid = blobIdFromDigest(item.payloadSha256).id;
  const path = `/v1/blobs/${cid}`;
  const auth = await signNodeRequest({
    account: session.account,
    domain: { chainId: description.chainId, verifyingContract: description.contracts.consentRegistry },
    audience: description.audience,
    method: 'PUT',
    path,
  });
  const { size } = await stat(item.payloadFile);
  let response: Response;
  try {
    response = await fetch(`${session.node.url}${path}`, {
      method: 'PUT',
      headers: {
        [AUTH_HEADER]: auth,
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        accept: 'application/json',
      },
      body: Readable.toWeb(createReadStream(item.payloadFile)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
  } catch (cause) {
    throw new CliError(`cannot reach the node at ${session.node.url}`, { cause });
  }
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { detail?: string; code?: string };
    throw new CliError(`the node refused the file upload: ${problem.detail ?? response.statusText}`, {
      details: { status: response.status, code: problem.code },
    });
  }
  return cid;
}

/** Most payload bytes in one `POST /v1/blobs/batch` request (the node accepts 64 MiB). */
const UPLOAD_BATCH_BYTES = 16 * 2 ** 20;
/** Blob batch requests in flight at once. */
const UPLOAD_BATCHES_IN_FLIGHT = 2;

/**
 * Uploads the in-memory payloads of encrypted items as they are added, many per request (`POST /v1/blobs/batch`: one
 * signature and one grouped fsync per request, at most 1,000 payloads or 16 MiB each; at most two requests in
 * flight), and sets each one's CID. An upload alone makes no record visible (a payload nobody publishes is an
 * unreferenced ciphertext), so an import starts uploading a batch's payloads as soon as it is encrypted, while
 * later inputs are still validated and earlier batches published (docs/fhir.md §12, "Pipeline"). The node refuses
 * a request whole, so a failure leaves no half-uploaded request behind.
 */
export class PayloadUploads {
  readonly #session: Session;
  readonly #done = new WeakMap<EncryptedItem, Promise<void>>();
  #slots: Promise<void>[] = [];
  #uploaded = 0;

  constructor(session: Session) {
    this.#session = session;
  }

  /** Queues the uploads of these items' payloads (an item without one, a file uploaded already, is skipped). */
  add(items: readonly EncryptedItem[]): void {
    let group: EncryptedItem[] = [];
    let bytes = 0;
    for (const item of items) {
      if (item.payload === undefined || this.#done.has(item)) continue;
      if (
        group.length >= MAX_BLOB_BATCH_COUNT ||
        (group.length > 0 && bytes + item.payload.length > UPLOAD_BATCH_BYTES)
      ) {
        this.#send(group);
        group = [];
        bytes = 0;
      }
      group.push(item);
      bytes += item.payload.length;
    }
    if (group.length > 0) this.#send(group);
  }

  /** Resolves once these items' payloads are uploaded (queued now if they were not). @throws the upload's error. */
  async uploaded(items: readonly EncryptedItem[]): Promise<void> {
    this.add(items);
    await Promise.all(items.map((item) => this.#done.get(item)));
  }

  /** Waits for every upload in flight, whatever their outcome (before giving up on an import). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#slots);
  }

  #send(group: EncryptedItem[]): void {
    // Request i goes after request i - 2 (two in flight, in the order they were queued).
    const before = this.#slots[this.#slots.length - UPLOAD_BATCHES_IN_FLIGHT] ?? Promise.resolve();
    const sent = before
      .catch(() => undefined)
      .then(async () => {
        const receipt = await this.#session.node.putBlobs(group.map((m) => m.payload as Uint8Array));
        for (const [i, m] of group.entries()) m.blobId = receipt.blobs[i]?.cid ?? '';
        this.#uploaded += group.length;
        progress(`  uploaded ${this.#uploaded} payloads`);
      });
    this.#slots.push(sent);
    sent.catch(() => undefined); // awaited through `uploaded`; not an unhandled rejection meanwhile
    for (const item of group) this.#done.set(item, sent);
  }
}

/** Writes the own age file of a file record: header, then the payload file copied in pieces, atomically. */
async function putOwnFile(
  session: Session,
  recordId: Hex,
  fileKey: Uint8Array,
  stanza: Stanza,
  payloadFile: string,
) {
  const target = session.store.fileOf(recordId);
  const temporary = join(dirname(target), `.${basename(target)}.partial`);
  const out = await open(temporary, 'w', 0o600);
  try {
    await out.write(assembleHeader({ fileKey, stanzas: [stanza] }));
    for await (const piece of createReadStream(payloadFile, { highWaterMark: 4 * 1024 * 1024 })) {
      await out.write(piece as Buffer);
    }
  } finally {
    await out.close();
  }
  await rename(temporary, target);
}

/** An item encrypted and its key wrapped, ready to upload and publish (`encryptItems`, then `publishEncrypted`). */
export type EncryptedItem = {
  item: PublishItem;
  blobId: string;
  payload?: Uint8Array;
  fileKey: Uint8Array;
  ownStanza: Stanza;
  stanzas: { reader: Address; stanza: string }[];
  leaf: RecordLeaf;
  salt: Hex;
};

/** Who the records are for and who publishes them, read once per import (`encryptItems`, `publishEncrypted`). */
export type PublishContext = {
  patient: Address;
  publisher: Address;
  selfIsPatient: boolean;
  own: X25519Recipient;
  forPatient: X25519Recipient;
  tagKey: Uint8Array | undefined;
  /**
   * The grantees of the patient's active all-records and category grants (own imports only): a record imported
   * later that such a grant covers gets a stanza for them too, so they read it as the grant promises.
   */
  grantees: { grantee: Address; recipient: X25519Recipient; all: boolean; tags: Set<string> }[];
};

/** The grantees my active all-records and category grants reach, one entry per grantee. */
async function coveringGrantees(session: Session): Promise<PublishContext['grantees']> {
  const { node, keys } = session;
  const byGrantee = new Map<string, { grantee: Address; all: boolean; tags: Set<string> }>();
  for (const g of (await node.listGrants()).grants) {
    if (g.state !== 'active' || !isAddressEqual(g.patient, keys.address)) continue;
    const scopeKind = g.scopeKind as ScopeKind;
    if (scopeKind !== ScopeKind.All && scopeKind !== ScopeKind.Categories) continue;
    const entry = byGrantee.get(g.grantee.toLowerCase()) ?? {
      grantee: g.grantee,
      all: false,
      tags: new Set(),
    };
    if (scopeKind === ScopeKind.All) entry.all = true;
    else for (const tag of g.scopeData as string[]) entry.tags.add(tag.toLowerCase());
    byGrantee.set(g.grantee.toLowerCase(), entry);
  }
  const out: PublishContext['grantees'] = [];
  for (const entry of byGrantee.values()) {
    const did = await node.getDid(entry.grantee).catch(() => undefined);
    if (did !== undefined) out.push({ ...entry, recipient: new X25519Recipient(did.recipient) });
  }
  return out;
}

/** The patient's recipient (its DID's key when the publisher is someone else) and the publisher's own. */
export async function publishContext(session: Session, patient: Address): Promise<PublishContext> {
  const { node, keys } = session;
  const publisher = keys.address;
  const selfIsPatient = isAddressEqual(patient, publisher);
  const patientRecipient = selfIsPatient ? keys.recipient : (await node.getDid(patient)).recipient;
  return {
    patient,
    publisher,
    selfIsPatient,
    own: new X25519Recipient(keys.recipient),
    forPatient: new X25519Recipient(patientRecipient),
    tagKey: selfIsPatient ? await sessionCategoryKey(session) : undefined,
    grantees: selfIsPatient ? await coveringGrantees(session) : [],
  };
}

/**
 * Encrypts each item with a fresh file key (or takes the key of a file encrypted already; a file's payload is
 * uploaded here), wraps the file key to the patient (and to the publisher when it is not the patient, so it keeps
 * access) and computes its leaf. Nothing of an in-memory item leaves this process: an import can encrypt the
 * records of one input while the next is still being validated, and publish only once all of them are valid.
 */
export async function encryptItems(
  session: Session,
  context: PublishContext,
  items: readonly PublishItem[],
): Promise<EncryptedItem[]> {
  const { patient, publisher, selfIsPatient, own, forPatient, tagKey, grantees } = context;
  return inPool(items, async (item): Promise<EncryptedItem> => {
    let fileKey: Uint8Array;
    let payload: Uint8Array | undefined;
    let blobId = '';
    if ('plaintext' in item) {
      // Uploaded below with the others, many per request (`POST /v1/blobs/batch`).
      ({ fileKey, payload } = encryptPayload({ plaintext: item.plaintext }));
    } else {
      fileKey = item.fileKey;
      blobId = await putBlobFile(session, item);
    }
    const ownStanza = await wrapFileKey({ fileKey, recipient: own });
    const stanzas = [
      {
        reader: patient,
        stanza: encodeStanza(
          selfIsPatient ? ownStanza : await wrapFileKey({ fileKey, recipient: forPatient }),
        ),
      },
    ];
    if (!selfIsPatient) stanzas.push({ reader: publisher, stanza: encodeStanza(ownStanza) });
    const salt = random32();
    const tag =
      tagKey === undefined ? ZERO_BYTES32 : categoryTag({ patientSalt: tagKey, category: item.category });
    for (const g of grantees) {
      if (g.all || (tag !== ZERO_BYTES32 && g.tags.has(tag.toLowerCase()))) {
        stanzas.push({
          reader: g.grantee,
          stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: g.recipient })),
        });
      }
    }
    const patientCommitment = hashPatientCommitment(patient, salt);
    return {
      item,
      blobId,
      ...(payload === undefined ? {} : { payload }),
      fileKey,
      ownStanza,
      stanzas,
      salt,
      leaf: { recordId: item.recordId, blobId: ZERO_BYTES32, categoryTag: tag, patientCommitment },
    };
  });
}

/**
 * Encrypts each item with a fresh file key (or takes the key of a file encrypted already), uploads each payload,
 * wraps the file key to the patient (and to the publisher when it is not the patient, so it keeps access), signs
 * one `Publish` per batch and `POST /v1/records`. The publisher's own copy (own stanza + payload) and index entry
 * are written locally only after the node accepted the batch. The items are valid already (the whole input was
 * validated), so the work is pipelined by batch of ≤ 1,000: batch k + 1 is encrypted (and its payloads uploaded)
 * while batch k is published.
 *
 * Records the patient publishes are tagged with its category key; a provider cannot compute the tag, so its
 * records go untagged (zero) and the patient's gateway tags them on its next sync.
 */
export async function publishItems(parameters: {
  session: Session;
  patient: Address;
  items: readonly PublishItem[];
  source: string;
}): Promise<Omit<PublishFhirReturnType, 'format'>> {
  const { session, patient, items, source } = parameters;
  const context = await publishContext(session, patient);
  progress(`validated ${items.length} records from ${source}; encrypting and uploading`);
  const uploads = new PayloadUploads(session);
  // One batch encrypted after the other (on this thread, between the publishing's waits for the node), each one's
  // uploads queued as soon as it is.
  const batches: Promise<EncryptedItem[]>[] = [];
  let previous: Promise<unknown> = Promise.resolve();
  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    const chunk = items.slice(start, start + BATCH_SIZE);
    const encrypted = previous.then(async () => {
      const done = await encryptItems(session, context, chunk);
      uploads.add(done);
      return done;
    });
    encrypted.catch(() => undefined); // awaited in order by publishBatches
    batches.push(encrypted);
    previous = encrypted;
  }
  return publishBatches({ session, context, batches, uploads, source });
}

/**
 * Uploads the payloads of encrypted items (many per request; `uploads` may have started them already, e.g. while
 * other inputs were still being validated), signs one `Publish` per ≤ 1,000 records and `POST /v1/records` each
 * (one chain write per batch) as soon as its payloads are uploaded, while the later batches' payloads upload; each
 * accepted batch's own copies (one pack) and index entries are written while the next batch is published, and all
 * of them before this returns or throws.
 */
export async function publishEncrypted(parameters: {
  session: Session;
  context: PublishContext;
  prepared: EncryptedItem[];
  source: string;
  uploads?: PayloadUploads;
}): Promise<Omit<PublishFhirReturnType, 'format'>> {
  const { session, prepared } = parameters;
  const uploads = parameters.uploads ?? new PayloadUploads(session);
  const batches: Promise<EncryptedItem[]>[] = [];
  for (let start = 0; start < prepared.length; start += BATCH_SIZE) {
    const batch = prepared.slice(start, start + BATCH_SIZE);
    uploads.add(batch);
    batches.push(Promise.resolve(batch));
  }
  return publishBatches({ ...parameters, batches, uploads });
}

/** The batches, in order: each one's uploads awaited, then signed and published; the local copies behind. */
async function publishBatches(parameters: {
  session: Session;
  context: PublishContext;
  batches: readonly Promise<EncryptedItem[]>[];
  uploads: PayloadUploads;
  source: string;
}): Promise<Omit<PublishFhirReturnType, 'format'>> {
  const { session, context, source, uploads } = parameters;
  const { node, keys, store } = session;
  const { patient, publisher, selfIsPatient } = context;
  const description = await node.describe();
  const existing = await store.list(keys.identity);

  const published: LocalRecord[] = [];
  const batches: { root: Hex; count: number }[] = [];
  // A batch's local copies and the index are written while the next batch is signed and published (mostly fsync
  // waits): one write at a time, in batch order; each published batch's copies are written even if a later batch
  // fails, and the import ends (or throws) only once they are.
  let localWrites: Promise<void> = Promise.resolve();
  let localFailure: { error: unknown } | undefined;
  let completed = false;
  const writeLocal = async (batch: EncryptedItem[], index: LocalRecord[]) => {
    try {
      await store.putFiles(
        batch.flatMap((p) =>
          p.payload === undefined
            ? []
            : [{ recordId: p.item.recordId, fileKey: p.fileKey, stanza: p.ownStanza, payload: p.payload }],
        ),
      );
      for (const p of batch) {
        if (p.payload === undefined && 'payloadFile' in p.item) {
          await putOwnFile(session, p.item.recordId, p.fileKey, p.ownStanza, p.item.payloadFile);
        }
      }
      await store.save(index);
    } finally {
      for (const p of batch) p.fileKey.fill(0);
    }
  };
  try {
    for (const next of parameters.batches) {
      if (localFailure !== undefined) break;
      const batch = await next;
      await uploads.uploaded(batch);
      for (const p of batch) {
        // The leaf commits to the payload's SHA-256: the digest inside its CID (docs/protocol.md, Records).
        p.leaf = { ...p.leaf, blobId: bytesToHex(parseBlobId(p.blobId).digest) };
      }
      const tree = buildRecordTree(batch.map((p) => p.leaf));
      const context = await signatureContext({ session, contract: 'RecordRegistry', identity: publisher });
      const signature = await session.account.signTypedData(
        toPublishTypedData({
          chainId: description.chainId,
          verifyingContract: description.contracts.recordRegistry,
          message: {
            publisher,
            root: tree.root,
            count: batch.length,
            nonce: context.nonce,
            deadline: context.deadline,
          },
        }),
      );
      progress(`publishing batch of ${batch.length} records`);
      await node.publishRecords({
        patient,
        records: batch.map((p) => ({
          recordId: p.item.recordId,
          blobId: p.blobId,
          categoryTag: p.leaf.categoryTag,
          salt: p.salt,
          stanzas: p.stanzas,
        })),
        publish: {
          root: tree.root,
          count: batch.length,
          nonce: context.nonce.toString(),
          deadline: context.deadline.toString(),
          signature,
        },
      });
      await context.commit();
      batches.push({ root: tree.root, count: batch.length });
      const addedAt = new Date().toISOString();
      for (const p of batch) {
        published.push({
          recordId: p.item.recordId,
          blobId: p.blobId,
          patient,
          publisher,
          resourceType: p.item.resourceType,
          fhirId: p.item.fhirId,
          category: p.item.category,
          categoryTag: p.leaf.categoryTag,
          ...(selfIsPatient ? { salt: p.salt } : {}),
          clinicalDate: p.item.clinicalDate,
          sha256: p.item.sha256,
          source,
          addedAt,
          state: 'active',
        });
      }
      const index = [...existing, ...published];
      localWrites = localWrites
        .then(() => (localFailure === undefined ? writeLocal(batch, index) : undefined))
        .catch((error: unknown) => {
          localFailure ??= { error };
        });
    }
    completed = true;
  } finally {
    if (!completed || localFailure !== undefined) {
      // Nothing more is published: the batches still being encrypted or uploaded end first, and their keys go.
      const kept = new Set(published.map((r) => r.recordId));
      for (const next of parameters.batches) {
        for (const p of await next.catch(() => [])) if (!kept.has(p.item.recordId)) p.fileKey.fill(0);
      }
      await uploads.settled();
    }
    await localWrites;
  }
  if (localFailure !== undefined) throw localFailure.error;
  return { patient, publisher, records: published, batches };
}
