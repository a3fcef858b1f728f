import { parseBlobId } from '@carekey/sdk/blobs';
import { buildRecordTree, type RecordLeaf, toPublishTypedData } from '@carekey/sdk/chain';
import { encodeStanza, encryptPayload, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import { categoryTag, type FhirRecord, sessionCategoryKey, splitIntoRecords } from '@carekey/sdk/fhir';
import { bytesToHex, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { PortalError } from './errors.ts';
import { browserR4DefinitionSources } from './fhirDefinitions.ts';
import { inPool, loadCache, type PortalRecord, type Progress, type Resource, saveCache } from './records.ts';
import { type Session, signatureContext } from './session.ts';

/** Most records per published batch (the vault's limit). */
export const BATCH_SIZE = 1000;

function random32(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Validates a FHIR file and splits it into records; nothing leaves the browser and nothing changes on a fault.
 * `custodian` (the importer's DID) is set as every record's `meta.source`, as `carekey import` does.
 */
export async function readFhirFile(
  bytes: Uint8Array,
  onProgress?: Progress,
  custodian?: string,
): Promise<FhirRecord[]> {
  onProgress?.(0, 1, 'Checking the file (the first import loads the FHIR rules, about 10 MB)');
  const { records } = await splitIntoRecords({
    input: bytes,
    definitions: { sources: browserR4DefinitionSources },
    ...(custodian === undefined ? {} : { custodian }),
  });
  if (records.length === 0) throw new PortalError('This file holds no FHIR resources. Nothing was imported.');
  return records;
}

/**
 * Imports FHIR as the patient's own records (docs/protocol.md flow 1, as `carekey import`): validate and split,
 * then {@link publishOwnRecords}. Nothing leaves the browser when the file is refused.
 */
export async function importFhir(
  session: Session,
  bytes: Uint8Array,
  onProgress?: Progress,
): Promise<PortalRecord[]> {
  const { chainId } = await session.node.describe();
  const fhir = await readFhirFile(
    bytes,
    onProgress,
    `did:ethr:0x${chainId.toString(16)}:${session.identity}`,
  );
  return publishOwnRecords(
    session,
    fhir.map((r) => ({
      json: r.canonicalJson,
      category: r.category,
      resource: r.resource as unknown as Resource,
    })),
    onProgress,
  );
}

/**
 * One record to publish: its canonical JSON, its category (tagged with my category key) and the resource; or a file
 * already encrypted and uploaded (a scan, a PDF: `lib/fileImport.ts`), with the record id its description points to.
 */
export type OwnRecord =
  | { json: string; category: string; resource: Resource }
  | { file: { contentType: string }; recordId: Hex; category: string; blobId: string; fileKey: Uint8Array };

/**
 * Publishes records as the patient's own: encrypt each with a fresh file key, upload each payload, wrap the file
 * key to me, tag the category with my category key, sign one `Publish` per batch and `POST /v1/records`. The
 * encrypted cache is updated only after the node accepted a batch. Returns the records with their file keys still
 * wrapped to me (`stanza`).
 */
export async function publishOwnRecords(
  session: Session,
  items: readonly OwnRecord[],
  onProgress?: Progress,
): Promise<PortalRecord[]> {
  const { node, keys } = session;
  const description = await node.describe();
  const tagKey = await sessionCategoryKey(session);
  const own = new X25519Recipient(keys.recipient);
  const patient = session.identity;
  let uploaded = 0;
  const prepared = await inPool(items, 8, async (record) => {
    let cid: string;
    let stanza: string;
    if ('file' in record) {
      // Encrypted and uploaded already, streamed; its key is wrapped like any other.
      cid = record.blobId;
      stanza = encodeStanza(await wrapFileKey({ fileKey: record.fileKey, recipient: own }));
    } else {
      const { fileKey, payload } = encryptPayload({
        plaintext: new TextEncoder().encode(record.json),
      });
      stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: own }));
      fileKey.fill(0);
      cid = (await node.putBlob(payload)).cid;
    }
    uploaded++;
    if (uploaded % 10 === 0 || uploaded === items.length) {
      onProgress?.(uploaded, items.length, 'Encrypting and uploading');
    }
    const recordId = 'file' in record ? record.recordId : random32();
    const salt = random32();
    const tag = categoryTag({ patientSalt: tagKey, category: record.category });
    const patientCommitment = keccak256(
      encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [patient, salt]),
    );
    const leaf: RecordLeaf = {
      recordId,
      blobId: bytesToHex(parseBlobId(cid).digest),
      categoryTag: tag,
      patientCommitment,
    };
    return { record, recordId, blobId: cid, stanza, salt, leaf };
  });
  const added: PortalRecord[] = [];
  for (let start = 0; start < prepared.length; start += BATCH_SIZE) {
    const batch = prepared.slice(start, start + BATCH_SIZE);
    onProgress?.(start, prepared.length, `Publishing ${batch.length} records`);
    const tree = buildRecordTree(batch.map((p) => p.leaf));
    const context = await signatureContext(session, 'RecordRegistry');
    const signature = await session.account.signTypedData(
      toPublishTypedData({
        chainId: description.chainId,
        verifyingContract: description.contracts.recordRegistry,
        message: {
          publisher: patient,
          root: tree.root,
          count: batch.length,
          nonce: context.nonce,
          deadline: context.deadline,
        },
      }),
    );
    await node.publishRecords({
      patient,
      records: batch.map((p) => ({
        recordId: p.recordId,
        blobId: p.blobId,
        categoryTag: p.leaf.categoryTag,
        salt: p.salt,
        stanzas: [{ reader: patient, stanza: p.stanza }],
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
    const addedAt = new Date().toISOString();
    for (const p of batch) {
      added.push({
        recordId: p.recordId,
        blobId: p.blobId,
        publisher: patient,
        state: 'active',
        categoryTag: p.leaf.categoryTag,
        stanza: p.stanza,
        ...('file' in p.record ? { file: p.record.file } : { resource: p.record.resource }),
        addedAt,
      });
    }
    const cached = await loadCache(session);
    await saveCache(session, [...cached, ...added.slice(-batch.length)]);
  }
  onProgress?.(prepared.length, prepared.length, 'Imported');
  return added;
}
