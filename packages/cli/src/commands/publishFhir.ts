import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseBlobId } from '@carekey/sdk/blobs';
import { buildRecordTree, type RecordLeaf, toPublishTypedData, ZERO_BYTES32 } from '@carekey/sdk/chain';
import { encodeStanza, encryptPayload, type Stanza, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import { categoryTag, type FhirRecord, splitIntoRecords } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import { type Address, bytesToHex, encodeAbiParameters, type Hex, isAddressEqual, keccak256 } from 'viem';
import { categoryKey } from '../home/categoryKey.ts';
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
  /** The FHIR file (a Bundle or one resource). */
  file: string;
  /** Whose records these are (the session's own identity for an import). */
  patient: Address;
};

export type PublishFhirReturnType = {
  patient: Address;
  publisher: Address;
  records: LocalRecord[];
  batches: { root: Hex; count: number }[];
};

/** Reads and validates a FHIR file; any fault is one line and nothing has changed yet. */
async function readFhir(file: string): Promise<FhirRecord[]> {
  let input: Uint8Array;
  try {
    input = await readFile(file);
  } catch (cause) {
    throw new CliError(`cannot read ${file}`, { cause, hint: 'check the path' });
  }
  const { records } = await splitIntoRecords({ input, definitions: { sources: nodeR4DefinitionSources } });
  if (records.length === 0) throw new CliError(`${file} holds no FHIR resources`);
  return records;
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

function random32(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Publishes FHIR for a patient (docs/protocol.md flow 1): validates and splits the file, encrypts each record with
 * a fresh file key, uploads each payload, wraps the file key to the patient (and to the publisher when it is not the
 * patient, so it keeps access), signs one `Publish` per batch and `POST /v1/records`. The publisher's own copy (own
 * stanza + payload) and index entry are written locally only after the node accepted the batch.
 *
 * Records the patient publishes are tagged with its category key; a provider cannot compute the tag, so its
 * records go untagged (zero) and the patient's gateway tags them on its next sync.
 */
export async function publishFhir(parameters: PublishFhirParameters): Promise<PublishFhirReturnType> {
  const { session, patient } = parameters;
  const { node, keys, store } = session;
  const publisher = keys.address;
  const selfIsPatient = isAddressEqual(patient, publisher);
  const fhir = await readFhir(parameters.file);
  const description = await node.describe();
  const patientRecipient = selfIsPatient ? keys.recipient : (await node.getDid(patient)).recipient;
  const tagKey = selfIsPatient ? categoryKey(keys.privateKey) : undefined;
  const own = new X25519Recipient(keys.recipient);
  const forPatient = new X25519Recipient(patientRecipient);
  const existing = await store.list(keys.identity);
  const source = basename(parameters.file);

  progress(`validated ${fhir.length} records from ${source}; encrypting and uploading`);
  type Prepared = {
    record: FhirRecord;
    recordId: Hex;
    blobId: string;
    payload: Uint8Array;
    fileKey: Uint8Array;
    ownStanza: Stanza;
    stanzas: { reader: Address; stanza: string }[];
    leaf: RecordLeaf;
    salt: Hex;
  };
  let uploaded = 0;
  const prepared = await inPool(fhir, async (record): Promise<Prepared> => {
    const { fileKey, payload } = encryptPayload({
      plaintext: new TextEncoder().encode(record.canonicalJson),
    });
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
    const { cid } = await node.putBlob(payload);
    uploaded++;
    if (uploaded % 100 === 0) progress(`  uploaded ${uploaded}/${fhir.length}`);
    const recordId = random32();
    const salt = random32();
    const tag =
      tagKey === undefined ? ZERO_BYTES32 : categoryTag({ patientSalt: tagKey, category: record.category });
    const patientCommitment = keccak256(
      encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [patient, salt]),
    );
    // The leaf commits to the payload's SHA-256: the digest inside its CID (docs/protocol.md, Records).
    const digest = bytesToHex(parseBlobId(cid).digest);
    return {
      record,
      recordId,
      blobId: cid,
      payload,
      fileKey,
      ownStanza,
      stanzas,
      salt,
      leaf: { recordId, blobId: digest, categoryTag: tag, patientCommitment },
    };
  });

  const published: LocalRecord[] = [];
  const batches: { root: Hex; count: number }[] = [];
  for (let start = 0; start < prepared.length; start += BATCH_SIZE) {
    const batch = prepared.slice(start, start + BATCH_SIZE);
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
        recordId: p.recordId,
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
      await store.putFile({
        recordId: p.recordId,
        fileKey: p.fileKey,
        stanza: p.ownStanza,
        payload: p.payload,
      });
      p.fileKey.fill(0);
      published.push({
        recordId: p.recordId,
        blobId: p.blobId,
        patient,
        publisher,
        resourceType: p.record.resourceType,
        fhirId: p.record.id,
        category: p.record.category,
        categoryTag: p.leaf.categoryTag,
        ...(selfIsPatient ? { salt: p.salt } : {}),
        clinicalDate: p.record.clinicalDate,
        sha256: p.record.sha256,
        source,
        addedAt,
        state: 'active',
      });
    }
    await store.save([...existing, ...published]);
  }
  return { patient, publisher, records: published, batches };
}
