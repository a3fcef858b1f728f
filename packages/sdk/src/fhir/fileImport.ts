import type { Reference, Resource } from '@medplum/fhirtypes';
import { FhirImportError } from '../errors/fhir.ts';
import {
  type DicomHeader,
  DicomHeaderTruncated,
  imagingStudyFromDicom,
  isDicomPart10,
  readDicomHeader,
} from './dicom.ts';
import {
  documentReferenceFromFile,
  type FileFacts,
  fileRecordUri,
  isPdf,
  type PdfInfo,
  withFileAttachment,
} from './fileResources.ts';
import { type FhirRecord, type SplitIntoRecordsParameters, splitIntoRecords } from './splitIntoRecords.ts';

// The file import shared by the CLI (`@carekey/sdk/fhir/node` reads files from disk) and the portal (a `File`):
// what a file is, its DICOM header, and the validated FHIR record describing it (docs/fhir.md §10, "Files").

/** The file kinds imported with their metadata. */
export type FileKind = 'dicom' | 'pdf';

/** The content type of each file kind (its file record's category is `Binary|<content type>`). */
export const FILE_CONTENT_TYPES: Readonly<Record<FileKind, string>> = {
  dicom: 'application/dicom',
  pdf: 'application/pdf',
};

/** Largest DICOM header read (the pixels are never read to describe a file). */
export const MAX_DICOM_HEADER_BYTES = 64 * 1024 * 1024;
/** PDFs up to this size have their title and date read (pdf-lib needs the whole file in memory). */
export const MAX_PDF_METADATA_BYTES = 64 * 1024 * 1024;

/**
 * What kind of file this is, from its first bytes (`DICM` at 128, `%PDF-`; 1,024 bytes are enough), or undefined
 * when neither. A name ending in `.dcm`/`.dicom` or `.pdf` whose bytes say otherwise is refused rather than guessed.
 * @throws FhirImportError (`not-dicom`, `not-pdf`), naming the file.
 */
export function fileKindOf(head: Uint8Array, name: string): FileKind | undefined {
  const lower = name.toLowerCase();
  if (isDicomPart10(head)) return 'dicom';
  if (/\.(dcm|dicom)$/u.test(lower)) {
    throw new FhirImportError(`${name} is not a DICOM file: no "DICM" marker at byte 128 (DICOM Part 10)`, {
      reason: 'not-dicom',
    });
  }
  if (isPdf(head)) return 'pdf';
  if (lower.endsWith('.pdf')) {
    throw new FhirImportError(`${name} is not a PDF file: no "%PDF-" header`, { reason: 'not-pdf' });
  }
  return undefined;
}

/**
 * Reads a DICOM header from the start of a file of `size` bytes, reading more (1 MiB, then 4×) only while the
 * header runs past what was read; never more than {@link MAX_DICOM_HEADER_BYTES}.
 * @param readHead the file's first `bytes` bytes (fewer at its end).
 * @throws FhirImportError (`not-dicom`, `too-large`).
 */
export async function readDicomHeaderOf(
  readHead: (bytes: number) => Promise<Uint8Array>,
  size: number,
): Promise<DicomHeader> {
  for (let want = 1024 * 1024; ; want *= 4) {
    const take = Math.min(want, size, MAX_DICOM_HEADER_BYTES);
    const head = await readHead(take);
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

export type DescribeFileParameters = {
  kind: FileKind;
  /** The file's name (the title when the file has none of its own). */
  name: string;
  /** Record id (0x + 64 hex) of the file's own record: the describing resource points to it. */
  fileRecordId: string;
  /** Facts of the plaintext, gathered while encrypting it. */
  size: number;
  /** Lowercase hex SHA-256. */
  sha256: string;
  /** Base64 SHA-1 (R4 `Attachment.hash`). */
  sha1Base64: string;
  dicom?: DicomHeader | undefined;
  pdf?: PdfInfo | undefined;
  /** Custodian DID, set as `meta.source` (see `splitIntoRecords`). */
  custodian?: string | undefined;
  /** The patient, as a reference (default for DICOM: the header's Patient ID and name). */
  subject?: Reference | undefined;
  /** The R4 definitions to validate with (the Node files, or the portal's static files). */
  definitions: NonNullable<SplitIntoRecordsParameters['definitions']>;
};

/**
 * The validated FHIR record describing an imported file: an `ImagingStudy` from the DICOM header (study date,
 * modality, body site) with the file's attachment in an extension, or a `DocumentReference` whose content is the
 * file (title and creation date from the PDF's Info dictionary). The attachment points to the file record.
 * @throws FhirValidationError if the resource is not valid R4.
 */
export async function describeFile(parameters: DescribeFileParameters): Promise<FhirRecord> {
  const { dicom, pdf } = parameters;
  const facts: FileFacts = {
    contentType: FILE_CONTENT_TYPES[parameters.kind],
    size: parameters.size,
    sha1Base64: parameters.sha1Base64,
    url: fileRecordUri(parameters.fileRecordId),
    title: pdf?.title ?? dicom?.studyDescription ?? parameters.name,
    ...(pdf?.creation === undefined ? {} : { creation: pdf.creation }),
  };
  const subject = parameters.subject === undefined ? {} : { subject: parameters.subject };
  let resource: Resource;
  if (parameters.kind === 'dicom') {
    if (dicom === undefined) throw new TypeError('describeFile: a DICOM file needs its header');
    resource = withFileAttachment(imagingStudyFromDicom({ header: dicom, ...subject }), facts);
  } else {
    resource = documentReferenceFromFile({
      id: parameters.sha256.slice(0, 64),
      facts,
      ...subject,
      ...(pdf?.title === undefined ? {} : { description: pdf.title }),
    });
  }
  const { records } = await splitIntoRecords({
    input: resource,
    definitions: parameters.definitions,
    ...(parameters.custodian === undefined ? {} : { custodian: parameters.custodian }),
  });
  const [record] = records;
  if (record === undefined) throw new Error('describeFile: no record');
  return record;
}
