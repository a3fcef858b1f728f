import { blobIdFromDigest } from '@carekey/sdk/blobs';
import { NodeProblemError, NodeUnreachableError } from '@carekey/sdk/client';
import { generateFileKey, PayloadEncryptor } from '@carekey/sdk/crypto';
import {
  describeFile,
  type FhirRecord,
  FILE_CONTENT_TYPES,
  type FileKind,
  fileKindOf,
  type LoadR4DefinitionsParameters,
  MAX_PDF_METADATA_BYTES,
  readDicomHeaderOf,
  readPdfInfo,
} from '@carekey/sdk/fhir';
import { AUTH_HEADER, signNodeRequest } from '@carekey/sdk/protocol';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, type Hex } from 'viem';
import { PortalError } from './errors.ts';
import { browserR4DefinitionSources } from './fhirDefinitions.ts';
import { formatBytes } from './files.ts';
import { importFhir, publishOwnRecords } from './importFhir.ts';
import type { PortalRecord, Progress } from './records.ts';
import type { Session } from './session.ts';

// DICOM and PDF import in the browser (docs/web.md, "Importing a scan or a PDF"), as `carekey import` does it
// (docs/fhir.md §10) with the SDK's shared code: the file is sniffed, its metadata read (the DICOM header up to the
// pixels; the PDF's Info dictionary), encrypted streamed chunk by chunk into a Blob of ciphertext (never whole in
// the page's memory), the describing ImagingStudy / DocumentReference built and validated; only then is anything
// sent: the payload (PUT, with upload progress), then one batch of two records, the description and the file.

/** Largest file the portal imports: the ciphertext is held in a Blob (which the browser may page to disk). */
export const MAX_BROWSER_FILE_BYTES = 512 * 1024 * 1024;

/** Plaintext is read this many bytes at a time (as the CLI's `encryptFileToPayload`). */
const READ_BYTES = 4 * 1024 * 1024;

/** Ciphertext parts are folded into a Blob every this many bytes, so the page itself holds little. */
const FOLD_BYTES = 8 * 1024 * 1024;

/** A file read, encrypted and described here, not yet sent. */
export type PreparedFile = {
  kind: FileKind;
  contentType: string;
  /** The id its file record will have (the description's attachment points to it). */
  fileRecordId: Hex;
  /** The validated FHIR record describing the file. */
  record: FhirRecord;
  fileKey: Uint8Array;
  /** The age payload (nonce + STREAM chunks): what the node stores. */
  payload: Blob;
  /** The payload's CID (its SHA-256, computed while encrypting). */
  cid: string;
  size: number;
  /** Lowercase hex SHA-256 of the plaintext. */
  sha256: string;
};

async function bytesOf(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

function random32(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * What kind of file this is from its first bytes: `dicom`, `pdf`, or undefined (then it is read as FHIR).
 * @throws PortalError for a name that lies (`scan.dcm` without the DICOM marker, `letter.pdf` without `%PDF-`).
 */
export async function sniffFile(file: Blob & { name: string }): Promise<FileKind | undefined> {
  try {
    return fileKindOf(await bytesOf(file.slice(0, 1024)), file.name);
  } catch (error) {
    throw plainFileError(error);
  }
}

/** The SDK's file refusals in the portal's words, each saying that nothing was imported. */
function plainFileError(error: unknown): unknown {
  const e = error as { name?: string; reason?: string; message?: string };
  if (e?.name !== 'FhirImportError') return error;
  const message = (e.message ?? '').replace(/\s*\(.*\)$/u, '');
  switch (e.reason) {
    case 'not-dicom':
      return new PortalError(
        `This is not a DICOM image the portal can read: ${message}. Nothing was imported.`,
      );
    case 'not-pdf':
      return new PortalError(`This PDF cannot be read: ${message}. Nothing was imported.`);
    case 'too-large':
      return new PortalError(`This file cannot be imported: ${message}. Nothing was imported.`);
    default:
      return new PortalError(`This file cannot be imported: ${message}. Nothing was imported.`);
  }
}

/**
 * Reads a DICOM or PDF file and encrypts it, here in the browser: size check first, then the metadata, then one
 * streamed pass that hashes the plaintext (SHA-256, SHA-1) and encrypts it (age STREAM, 64 KiB chunks) into a Blob,
 * hashing the ciphertext on the way; then the describing record, validated as R4. Nothing is sent.
 * @throws PortalError in plain words for a file too large, empty, not what its name says, or a corrupt PDF.
 */
export async function prepareFile(
  file: Blob & { name: string },
  options: {
    kind: FileKind;
    custodian?: string;
    definitions?: LoadR4DefinitionsParameters;
    maxBytes?: number;
    onProgress?: Progress;
  },
): Promise<PreparedFile> {
  const max = options.maxBytes ?? MAX_BROWSER_FILE_BYTES;
  if (file.size > max) {
    throw new PortalError(
      `${file.name} is ${formatBytes(file.size)}: the portal imports files up to ${formatBytes(max)}. Nothing was imported.`,
    );
  }
  const { kind } = options;
  const fileRecordId = random32();
  let dicom: Awaited<ReturnType<typeof readDicomHeaderOf>> | undefined;
  let pdf: Awaited<ReturnType<typeof readPdfInfo>> | undefined;
  try {
    options.onProgress?.(0, file.size, `Reading ${file.name}`);
    if (kind === 'dicom') dicom = await readDicomHeaderOf((n) => bytesOf(file.slice(0, n)), file.size);
    else if (file.size <= MAX_PDF_METADATA_BYTES) pdf = await readPdfInfo(await bytesOf(file));
  } catch (error) {
    throw plainFileError(error);
  }

  const fileKey = generateFileKey();
  try {
    const encryptor = new PayloadEncryptor(fileKey);
    const plain256 = sha256.create();
    const plain1 = sha1.create();
    const payload256 = sha256.create();
    const folded: Blob[] = [];
    let parts: Uint8Array[] = [];
    let pending = 0;
    const sink = (part: Uint8Array) => {
      payload256.update(part);
      parts.push(part);
      pending += part.length;
    };
    const fold = () => {
      folded.push(new Blob(parts as BlobPart[]));
      parts = [];
      pending = 0;
    };
    let size = 0;
    // Read in slices of our own size: a browser's `File.stream()` chunking is its own, and in-memory Files give
    // one chunk of the whole file.
    for (let at = 0; at < file.size; at += READ_BYTES) {
      const value = await bytesOf(file.slice(at, at + READ_BYTES));
      plain256.update(value);
      plain1.update(value);
      size += value.length;
      encryptor.write(value, sink);
      if (pending >= FOLD_BYTES) fold();
      options.onProgress?.(size, file.size, `Encrypting ${file.name} in this browser`);
    }
    encryptor.end(sink);
    fold();
    const sha = bytesToHex(plain256.digest()).slice(2);
    const record = await describeFile({
      kind,
      name: file.name,
      fileRecordId,
      size,
      sha256: sha,
      sha1Base64: btoa(String.fromCharCode(...plain1.digest())),
      dicom,
      pdf,
      custodian: options.custodian,
      definitions: options.definitions ?? { sources: browserR4DefinitionSources },
    });
    return {
      kind,
      contentType: FILE_CONTENT_TYPES[kind],
      fileRecordId,
      record,
      fileKey,
      payload: new Blob(folded, { type: 'application/octet-stream' }),
      cid: blobIdFromDigest(payload256.digest()).id,
      size,
      sha256: sha,
    };
  } catch (error) {
    fileKey.fill(0);
    throw error;
  }
}

/**
 * `PUT /v1/blobs/{cid}` of a payload Blob, signed as the SDK's client signs it (the CID in the signed path binds the
 * body), with upload progress (XMLHttpRequest: `fetch` reports none for a request body).
 * @throws NodeUnreachableError when the node cannot be reached or the connection drops; NodeProblemError when it
 * refuses (413 `blob-too-large`, 400 `hash-mismatch`, …).
 */
export async function uploadPayload(
  session: Session,
  parameters: { cid: string; payload: Blob; onProgress?: (sent: number, total: number) => void },
): Promise<void> {
  const description = await session.node.describe();
  const path = `/v1/blobs/${parameters.cid}`;
  const rotated = session.identity.toLowerCase() !== session.keys.address.toLowerCase();
  const auth = await signNodeRequest({
    account: session.account,
    ...(rotated ? { signer: session.identity } : {}),
    domain: { chainId: description.chainId, verifyingContract: description.contracts.consentRegistry },
    audience: description.audience,
    method: 'PUT',
    path,
  });
  const url = session.node.url;
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `${url}${path}`);
    xhr.setRequestHeader(AUTH_HEADER, auth);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (event) => parameters.onProgress?.(event.loaded, parameters.payload.size);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new NodeUnreachableError(url, new Error('the upload failed')));
    xhr.onabort = xhr.onerror;
    xhr.ontimeout = xhr.onerror;
    xhr.send(parameters.payload);
  });
  if (answer.status === 200 || answer.status === 201) return;
  let problem: { type?: string; title?: string; detail?: string; code?: string } = {};
  try {
    problem = JSON.parse(answer.body) as typeof problem;
  } catch {
    // not problem+json: the status says enough
  }
  if (problem.code === 'blob-too-large') {
    throw new PortalError(
      `Your Carekey node does not accept a file this large (${problem.detail ?? 'over its limit'}). Nothing was imported.`,
    );
  }
  throw new NodeProblemError({
    problem: {
      type: problem.type ?? 'about:blank',
      title: problem.title ?? `HTTP ${answer.status}`,
      status: answer.status,
      detail: problem.detail ?? `HTTP ${answer.status}`,
      code: problem.code ?? `http-${answer.status}`,
    },
    method: 'PUT',
    path,
  });
}

/**
 * Imports a DICOM or PDF file as two of the patient's own records (as `carekey import`): {@link prepareFile}, the
 * payload uploaded ({@link uploadPayload}), then one published batch holding the describing record and the file
 * record (`Binary|application/dicom` or `…/pdf`). A refusal before the upload sends nothing; a failure after it
 * publishes nothing (an uploaded payload nobody references is ciphertext only, and the retry uploads it again).
 */
export async function importFileRecords(
  session: Session,
  file: Blob & { name: string },
  options: { kind: FileKind; onProgress?: Progress; definitions?: LoadR4DefinitionsParameters },
): Promise<PortalRecord[]> {
  const { chainId } = await session.node.describe();
  const prepared = await prepareFile(file, {
    kind: options.kind,
    custodian: `did:ethr:0x${chainId.toString(16)}:${session.identity}`,
    ...(options.definitions === undefined ? {} : { definitions: options.definitions }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  try {
    await uploadPayload(session, {
      cid: prepared.cid,
      payload: prepared.payload,
      onProgress: (sent, total) =>
        options.onProgress?.(sent, total, `Uploading the encrypted file (${formatBytes(sent)})`),
    });
    return await publishOwnRecords(
      session,
      [
        {
          json: prepared.record.canonicalJson,
          category: prepared.record.category,
          resource: prepared.record.resource as unknown as PortalRecord['resource'] & object,
        },
        {
          file: { contentType: prepared.contentType },
          recordId: prepared.fileRecordId,
          category: `Binary|${prepared.contentType}`,
          blobId: prepared.cid,
          fileKey: prepared.fileKey,
        },
      ],
      options.onProgress,
    );
  } finally {
    prepared.fileKey.fill(0);
  }
}

/**
 * Imports any file the portal takes: a DICOM image or a PDF ({@link importFileRecords}), else FHIR (JSON or XML,
 * `importFhir`). What it is comes from its bytes; a name that lies is refused.
 */
export async function importAnyFile(
  session: Session,
  file: Blob & { name: string },
  onProgress?: Progress,
): Promise<PortalRecord[]> {
  if (file.size > MAX_BROWSER_FILE_BYTES) {
    // Before a byte of it is read, whatever it is (a FHIR file is read whole).
    throw new PortalError(
      `${file.name} is ${formatBytes(file.size)}: the portal imports files up to ${formatBytes(MAX_BROWSER_FILE_BYTES)}. Nothing was imported.`,
    );
  }
  const kind = await sniffFile(file);
  if (kind !== undefined) {
    return importFileRecords(session, file, { kind, ...(onProgress === undefined ? {} : { onProgress }) });
  }
  return importFhir(session, await bytesOf(file), onProgress);
}
