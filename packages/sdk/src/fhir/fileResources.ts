import type { Attachment, DocumentReference, Reference, Resource } from '@medplum/fhirtypes';
import { PDFDocument } from 'pdf-lib';
import { FhirImportError } from '../errors/fhir.ts';
import { isDicomPart10 } from './dicom.ts';

import { FILE_ATTACHMENT_EXTENSION } from './fileRecordUri.ts';

export { FILE_ATTACHMENT_EXTENSION, fileRecordUri, recordIdOfAttachment } from './fileRecordUri.ts';

/** Facts about a file gathered while streaming it (size and hashes of the plaintext). */
export type FileFacts = {
  contentType: string;
  size: number;
  /** Base64 SHA-1 (what R4 `Attachment.hash` holds). */
  sha1Base64: string;
  /** The record holding the file (its URI as `Attachment.url`). */
  url: string;
  title?: string;
  /** FHIR dateTime the content was created. */
  creation?: string;
};

/** An R4 Attachment for a file stored as its own record. */
export function fileAttachment(facts: FileFacts): Attachment {
  return {
    contentType: facts.contentType,
    url: facts.url,
    size: facts.size,
    hash: facts.sha1Base64,
    ...(facts.title === undefined ? {} : { title: facts.title }),
    ...(facts.creation === undefined ? {} : { creation: facts.creation }),
  };
}

/** Adds the file's attachment to a resource describing it (`FILE_ATTACHMENT_EXTENSION`). */
export function withFileAttachment<resource extends Resource & { extension?: unknown[] }>(
  resource: resource,
  facts: FileFacts,
): resource {
  return {
    ...resource,
    extension: [
      ...(resource.extension ?? []),
      { url: FILE_ATTACHMENT_EXTENSION, valueAttachment: fileAttachment(facts) },
    ],
  };
}

/** Whether the bytes start like a PDF (`%PDF-` within the first 1024 bytes, as readers accept). */
export function isPdf(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 1024));
  return text.includes('%PDF-');
}

/** Title and creation date of a PDF, read with pdf-lib (metadata only; nothing is rendered). */
export type PdfInfo = { title?: string; creation?: string; pages: number };

/**
 * Reads a PDF's Info dictionary with `pdf-lib`.
 * @throws FhirImportError (`not-pdf`) when the bytes are not a PDF pdf-lib can open.
 */
export async function readPdfInfo(bytes: Uint8Array): Promise<PdfInfo> {
  if (!isPdf(bytes)) {
    throw new FhirImportError('not a PDF file: no "%PDF-" header', { reason: 'not-pdf' });
  }
  let document: PDFDocument;
  try {
    document = await PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: true });
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new FhirImportError(`malformed PDF: ${why}`, { reason: 'not-pdf', cause });
  }
  const info: PdfInfo = { pages: document.getPageCount() };
  const title = document.getTitle()?.trim();
  if (title) info.title = title;
  const created = document.getCreationDate();
  if (created !== undefined && !Number.isNaN(created.getTime())) info.creation = created.toISOString();
  return info;
}

export type DocumentReferenceFromFileParameters = {
  id: string;
  facts: FileFacts;
  /** When the reference is made (FHIR instant); default now. */
  date?: string;
  subject?: Reference;
  description?: string;
};

/** An R4 `DocumentReference` (status current) whose one content is the file's attachment. */
export function documentReferenceFromFile(
  parameters: DocumentReferenceFromFileParameters,
): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    id: parameters.id,
    status: 'current',
    date: parameters.date ?? new Date().toISOString(),
    ...(parameters.subject === undefined
      ? {}
      : { subject: parameters.subject as NonNullable<DocumentReference['subject']> }),
    ...(parameters.description === undefined ? {} : { description: parameters.description }),
    content: [{ attachment: fileAttachment(parameters.facts) }],
  };
}

/**
 * The category of a file record from its bytes: `Binary|application/dicom`, `Binary|application/pdf`, else
 * `Binary|application/octet-stream`. The FHIR resource describing the file has its own category (`ImagingStudy`,
 * `DocumentReference`): a grant by category names both to share a file with its description.
 */
export function fileRecordCategory(head: Uint8Array): string {
  if (isDicomPart10(head)) return 'Binary|application/dicom';
  if (isPdf(head)) return 'Binary|application/pdf';
  return 'Binary|application/octet-stream';
}
