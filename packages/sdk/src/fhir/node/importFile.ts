import { createHash } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Reference, Resource } from '@medplum/fhirtypes';
import { BatchWriter, readPieces, withFiles } from '../../crypto/node/fileIo.ts';
import { nodeCryptoBackend } from '../../crypto/node/nodeBackend.ts';
import { generateFileKey, PayloadEncryptor } from '../../crypto/payload.ts';
import { FhirImportError } from '../../errors/fhir.ts';
import {
  type DicomHeader,
  DicomHeaderTruncated,
  imagingStudyFromDicom,
  isDicomPart10,
  readDicomHeader,
} from '../dicom.ts';
import {
  documentReferenceFromFile,
  type FileFacts,
  fileRecordUri,
  isPdf,
  type PdfInfo,
  readPdfInfo,
  withFileAttachment,
} from '../fileResources.ts';
import { type FhirRecord, splitIntoRecords } from '../splitIntoRecords.ts';
import { nodeR4DefinitionSources } from './nodeR4DefinitionSources.ts';

/** The file kinds imported with their metadata. */
export type FileKind = 'dicom' | 'pdf';

/** Largest DICOM header read (the pixels are never read to describe a file). */
export const MAX_DICOM_HEADER_BYTES = 64 * 1024 * 1024;
/** PDFs up to this size have their title and date read (pdf-lib needs the whole file in memory). */
export const MAX_PDF_METADATA_BYTES = 64 * 1024 * 1024;

/**
 * What kind of file `file` is, from its bytes (`DICM` at 128, `%PDF-`), or undefined when neither. A name ending
 * in `.dcm`/`.dicom` or `.pdf` whose bytes say otherwise is refused rather than guessed.
 * @throws FhirImportError (`not-dicom`, `not-pdf`).
 */
export async function sniffFileKind(file: string): Promise<FileKind | undefined> {
  const head = await readHead(file, 1024);
  const name = file.toLowerCase();
  if (isDicomPart10(head)) return 'dicom';
  if (/\.(dcm|dicom)$/u.test(name)) {
    throw new FhirImportError(
      `${path.basename(file)} is not a DICOM file: no "DICM" marker at byte 128 (DICOM Part 10)`,
      { reason: 'not-dicom' },
    );
  }
  if (isPdf(head)) return 'pdf';
  if (name.endsWith('.pdf')) {
    throw new FhirImportError(`${path.basename(file)} is not a PDF file: no "%PDF-" header`, {
      reason: 'not-pdf',
    });
  }
  return undefined;
}

async function readHead(file: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads a DICOM file's header from its first bytes, reading more only while the header runs past them. */
export async function readDicomFileHeader(file: string): Promise<DicomHeader> {
  const { size } = await stat(file);
  for (let want = 1024 * 1024; ; want *= 4) {
    const take = Math.min(want, size, MAX_DICOM_HEADER_BYTES);
    const head = await readHead(file, take);
    try {
      return readDicomHeader(head, { complete: take === size });
    } catch (error) {
      if (!(error instanceof DicomHeaderTruncated)) throw error;
      if (take >= MAX_DICOM_HEADER_BYTES) {
        throw new FhirImportError(`the DICOM header is larger than ${MAX_DICOM_HEADER_BYTES} bytes`, {
          reason: 'too-large',
        });
      }
    }
  }
}

/** Result of `encryptFileToPayload`: the file key and facts of the plaintext and of the payload. */
export type EncryptFileToPayloadReturnType = {
  fileKey: Uint8Array;
  /** Plaintext size in bytes. */
  size: number;
  /** Lowercase hex SHA-256 of the plaintext. */
  sha256: string;
  /** Base64 SHA-1 of the plaintext (R4 `Attachment.hash`). */
  sha1Base64: string;
  /** SHA-256 of the payload (the digest of its blob CID). */
  payloadSha256: Uint8Array;
  payloadSize: number;
};

/**
 * Encrypts a file to an age payload file (nonce + STREAM chunks, no header: the blob), streaming with constant
 * memory whatever the size, and hashes the plaintext and the payload on the way (one read of the file).
 */
export async function encryptFileToPayload(parameters: {
  input: string;
  output: string;
}): Promise<EncryptFileToPayloadReturnType> {
  const fileKey = generateFileKey();
  const encryptor = new PayloadEncryptor(fileKey, { backend: nodeCryptoBackend });
  const plain256 = createHash('sha256');
  const plain1 = createHash('sha1');
  const payload256 = createHash('sha256');
  let size = 0;
  let payloadSize = 0;
  await withFiles(parameters.input, parameters.output, async (input, output) => {
    const writer = new BatchWriter(output);
    const sink = (part: Uint8Array) => {
      payload256.update(part);
      payloadSize += part.length;
      writer.sink(part);
    };
    for await (const piece of readPieces(input)) {
      plain256.update(piece);
      plain1.update(piece);
      size += piece.length;
      encryptor.write(piece, sink);
      await writer.flush();
    }
    encryptor.end(sink);
    await writer.close();
  });
  return {
    fileKey,
    size,
    sha256: plain256.digest('hex'),
    sha1Base64: plain1.digest('base64'),
    payloadSha256: new Uint8Array(payload256.digest()),
    payloadSize,
  };
}

export type PrepareFileImportParameters = {
  /** The DICOM or PDF file. */
  file: string;
  /** Record id (0x + 64 hex) the file's own record will have: the describing resource points to it. */
  fileRecordId: string;
  /** Where to write the encrypted payload (deleted again on any failure). */
  payloadOutput: string;
  /** Custodian DID, set as `meta.source` (see `splitIntoRecords`). */
  custodian?: string;
  /** The patient, as a reference (default for DICOM: the header's Patient ID and name). */
  subject?: Reference;
};

export type PrepareFileImportReturnType = EncryptFileToPayloadReturnType & {
  kind: FileKind;
  contentType: string;
  /** The validated FHIR record describing the file (`ImagingStudy` or `DocumentReference`). */
  record: FhirRecord;
  dicom?: DicomHeader;
  pdf?: PdfInfo;
};

/**
 * Prepares a DICOM or PDF import (docs/fhir.md, "Files"): reads its metadata (DICOM header up to the pixels;
 * PDF Info dictionary), encrypts the file to `payloadOutput` in one streamed pass, builds the describing resource
 * (`ImagingStudy` with the file's attachment in an extension, or `DocumentReference`) and validates it as R4.
 * Nothing is left behind on failure.
 * @throws FhirImportError when the file is not what it claims; FhirValidationError if the resource is not R4.
 */
export async function prepareFileImport(
  parameters: PrepareFileImportParameters,
): Promise<PrepareFileImportReturnType> {
  const kind = await sniffFileKind(parameters.file);
  if (kind === undefined) {
    throw new FhirImportError(`${path.basename(parameters.file)} is neither DICOM nor PDF`, {
      reason: 'not-dicom',
    });
  }
  const { size: fileSize } = await stat(parameters.file);
  const dicom = kind === 'dicom' ? await readDicomFileHeader(parameters.file) : undefined;
  const pdf =
    kind === 'pdf' && fileSize <= MAX_PDF_METADATA_BYTES
      ? await readPdfInfo(await readFile(parameters.file))
      : undefined;
  const encrypted = await encryptFileToPayload({ input: parameters.file, output: parameters.payloadOutput });
  try {
    const contentType = kind === 'dicom' ? 'application/dicom' : 'application/pdf';
    const facts: FileFacts = {
      contentType,
      size: encrypted.size,
      sha1Base64: encrypted.sha1Base64,
      url: fileRecordUri(parameters.fileRecordId),
      title: pdf?.title ?? dicom?.studyDescription ?? path.basename(parameters.file),
      ...(pdf?.creation === undefined ? {} : { creation: pdf.creation }),
    };
    let resource: Resource;
    if (dicom !== undefined) {
      resource = withFileAttachment(
        imagingStudyFromDicom({
          header: dicom,
          ...(parameters.subject === undefined ? {} : { subject: parameters.subject }),
        }),
        facts,
      );
    } else {
      resource = documentReferenceFromFile({
        id: encrypted.sha256.slice(0, 64),
        facts,
        ...(parameters.subject === undefined ? {} : { subject: parameters.subject }),
        ...(pdf?.title === undefined ? {} : { description: pdf.title }),
      });
    }
    const { records } = await splitIntoRecords({
      input: resource,
      definitions: { sources: nodeR4DefinitionSources },
      ...(parameters.custodian === undefined ? {} : { custodian: parameters.custodian }),
    });
    const [record] = records;
    if (record === undefined) throw new Error('no record');
    return {
      ...encrypted,
      kind,
      contentType,
      record,
      ...(dicom === undefined ? {} : { dicom }),
      ...(pdf === undefined ? {} : { pdf }),
    };
  } catch (error) {
    encrypted.fileKey.fill(0);
    await rm(parameters.payloadOutput, { force: true });
    throw error;
  }
}
