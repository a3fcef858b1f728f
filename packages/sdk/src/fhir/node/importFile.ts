import { createHash } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Reference } from '@medplum/fhirtypes';
import { BatchWriter, readPieces, withFiles } from '../../crypto/node/fileIo.ts';
import { nodeCryptoBackend } from '../../crypto/node/nodeBackend.ts';
import { generateFileKey, PayloadEncryptor } from '../../crypto/payload.ts';
import { FhirImportError } from '../../errors/fhir.ts';
import type { DicomHeader } from '../dicom.ts';
import {
  describeFile,
  FILE_CONTENT_TYPES,
  type FileKind,
  fileKindOf,
  MAX_PDF_METADATA_BYTES,
  readDicomHeaderOf,
} from '../fileImport.ts';
import { type PdfInfo, readPdfInfo } from '../fileResources.ts';
import type { FhirRecord } from '../splitIntoRecords.ts';
import { nodeR4DefinitionSources } from './nodeR4DefinitionSources.ts';

export { type FileKind, MAX_DICOM_HEADER_BYTES, MAX_PDF_METADATA_BYTES } from '../fileImport.ts';

/**
 * What kind of file `file` is, from its bytes (`DICM` at 128, `%PDF-`), or undefined when neither. A name ending
 * in `.dcm`/`.dicom` or `.pdf` whose bytes say otherwise is refused rather than guessed.
 * @throws FhirImportError (`not-dicom`, `not-pdf`).
 */
export async function sniffFileKind(file: string): Promise<FileKind | undefined> {
  return fileKindOf(await readHead(file, 1024), path.basename(file));
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
  return readDicomHeaderOf((bytes) => readHead(file, bytes), size);
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
    const record = await describeFile({
      kind,
      name: path.basename(parameters.file),
      fileRecordId: parameters.fileRecordId,
      size: encrypted.size,
      sha256: encrypted.sha256,
      sha1Base64: encrypted.sha1Base64,
      dicom,
      pdf,
      custodian: parameters.custodian,
      subject: parameters.subject,
      definitions: { sources: nodeR4DefinitionSources },
    });
    return {
      ...encrypted,
      kind,
      contentType: FILE_CONTENT_TYPES[kind],
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
