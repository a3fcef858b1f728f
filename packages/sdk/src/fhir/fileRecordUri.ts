/**
 * How a resource names the file record it describes (docs/fhir.md §10). Apart from `fileResources.ts` so a reader
 * (the portal) can follow the link without bundling the PDF and DICOM parsers.
 */

/**
 * Extension (on `ImagingStudy`, which has no attachment element) holding the `Attachment` of the file the
 * resource describes. A `DocumentReference` uses its own `content[0].attachment`.
 */
export const FILE_ATTACHMENT_EXTENSION = 'https://carekey.dev/fhir/StructureDefinition/file-attachment';

/** The URI naming the Carekey record whose payload is a file: `urn:carekey:record:<recordId hex>`. */
export function fileRecordUri(recordId: string): string {
  if (!/^0x[0-9a-f]{64}$/u.test(recordId)) throw new Error(`not a record id: ${recordId}`);
  return `urn:carekey:record:${recordId}`;
}

/** The record id named by an attachment URL written by `fileRecordUri`, if any. */
export function recordIdOfAttachment(url: string | undefined): string | undefined {
  return url === undefined ? undefined : /^urn:carekey:record:(0x[0-9a-f]{64})$/u.exec(url)?.[1];
}
