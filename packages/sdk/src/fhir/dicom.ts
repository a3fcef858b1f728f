import type { ImagingStudy, Reference } from '@medplum/fhirtypes';
import * as dicomParserModule from 'dicom-parser';
import { FhirImportError } from '../errors/fhir.ts';

// dicom-parser is a UMD bundle: Node's ESM loader exposes it as `default`, bundlers as the namespace.
const dicomParser =
  (dicomParserModule as unknown as { default?: typeof dicomParserModule }).default ?? dicomParserModule;

/** Where a DICOM Part-10 file says `DICM` (after the 128-byte preamble). */
export const DICOM_MAGIC_OFFSET = 128;
/** The tag of Pixel Data: parsing stops there, the header is everything before. */
const PIXEL_DATA = 'x7fe00010';

/** What Carekey reads from a DICOM header (PS3.6 attribute names). */
export type DicomHeader = {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  modality: string;
  transferSyntaxUid?: string;
  /** `YYYYMMDD`, as written. */
  studyDate?: string;
  /** `HHMMSS.FFFFFF`, as written. */
  studyTime?: string;
  bodyPartExamined?: string;
  studyDescription?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  patientId?: string;
  patientName?: string;
};

/** Whether `bytes` start like a DICOM Part-10 file (`DICM` at byte 128). */
export function isDicomPart10(bytes: Uint8Array): boolean {
  return (
    bytes.length >= DICOM_MAGIC_OFFSET + 4 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

/** Thrown (internally) when the header runs past the bytes given: read more of the file and try again. */
export class DicomHeaderTruncated extends Error {
  override name = 'DicomHeaderTruncated';
}

/**
 * Reads the header of a DICOM Part-10 file with `dicom-parser`, up to the Pixel Data element: `head` needs to hold
 * only the header (a few KiB to a few MiB), never the pixels.
 * @throws FhirImportError (`not-dicom`) when it is not DICOM Part 10 or lacks a required attribute.
 * @throws DicomHeaderTruncated when `head` ends inside the header and `complete` is false.
 */
export function readDicomHeader(head: Uint8Array, options: { complete?: boolean } = {}): DicomHeader {
  if (!isDicomPart10(head)) {
    throw new FhirImportError('not a DICOM file: no "DICM" marker at byte 128 (DICOM Part 10)', {
      reason: 'not-dicom',
    });
  }
  let dataSet: ReturnType<typeof dicomParser.parseDicom>;
  try {
    dataSet = dicomParser.parseDicom(head, { untilTag: PIXEL_DATA });
  } catch (cause) {
    const message = typeof cause === 'string' ? cause : ((cause as Error)?.message ?? String(cause));
    if (options.complete === false && /overread|buffer|beyond|end of/iu.test(message)) {
      throw new DicomHeaderTruncated(message);
    }
    throw new FhirImportError(`malformed DICOM header: ${message}`, { reason: 'not-dicom', cause });
  }
  const text = (tag: string) => {
    const value = dataSet.string(tag)?.replace(/\0+$/u, '').trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (tag: string) => {
    const value = text(tag);
    return value !== undefined && /^[+-]?\d+$/u.test(value) ? Number(value) : undefined;
  };
  const required = (tag: string, name: string) => {
    const value = text(tag);
    if (value === undefined) {
      throw new FhirImportError(`the DICOM header has no ${name} (${tag.slice(1, 5)},${tag.slice(5)})`, {
        reason: 'not-dicom',
      });
    }
    return value;
  };
  const uid = (tag: string, name: string) => {
    const value = required(tag, name);
    if (!/^[0-9]+(\.[0-9]+)*$/u.test(value) || value.length > 64) {
      throw new FhirImportError(`the DICOM ${name} is not a UID: ${JSON.stringify(value.slice(0, 70))}`, {
        reason: 'not-dicom',
      });
    }
    return value;
  };
  const header: DicomHeader = {
    studyInstanceUid: uid('x0020000d', 'Study Instance UID'),
    seriesInstanceUid: uid('x0020000e', 'Series Instance UID'),
    sopInstanceUid: uid('x00080018', 'SOP Instance UID'),
    sopClassUid: uid('x00080016', 'SOP Class UID'),
    modality: required('x00080060', 'Modality'),
  };
  const optional: [keyof DicomHeader, string][] = [
    ['transferSyntaxUid', 'x00020010'],
    ['studyDate', 'x00080020'],
    ['studyTime', 'x00080030'],
    ['bodyPartExamined', 'x00180015'],
    ['studyDescription', 'x00081030'],
    ['seriesDescription', 'x0008103e'],
    ['patientId', 'x00100020'],
    ['patientName', 'x00100010'],
  ];
  for (const [key, tag] of optional) {
    const value = text(tag);
    if (value !== undefined) (header as Record<string, unknown>)[key] = value;
  }
  const seriesNumber = integer('x00200011');
  if (seriesNumber !== undefined) header.seriesNumber = seriesNumber;
  const instanceNumber = integer('x00200013');
  if (instanceNumber !== undefined) header.instanceNumber = instanceNumber;
  return header;
}

/**
 * DICOM DA to a FHIR date (a valid `dateTime` too); undefined when absent or not a real date. The DICOM time (TM)
 * is not used: it has no zone, and FHIR requires one on a time.
 */
export function dicomDate(date: string | undefined): string | undefined {
  const d = date === undefined ? null : /^(\d{4})(\d{2})(\d{2})$/u.exec(date);
  if (d === null) return undefined;
  const day = `${d[1]}-${d[2]}-${d[3]}`;
  const check = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== day ? undefined : day;
}

/** The DICOM code system (DCM) of modalities. */
export const DICOM_DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';

export type ImagingStudyFromDicomParameters = {
  header: DicomHeader;
  /** Who the study is of: default, the header's Patient ID (as an identifier) and name. */
  subject?: Reference;
  /** FHIR id of the resource (default: derived from the Study Instance UID). */
  id?: string;
};

/**
 * An R4 `ImagingStudy` describing one DICOM instance: study UID as identifier (`urn:dicom:uid`), started (study
 * date), modality (DCM), body site (Body Part Examined, as written), one series with one instance.
 */
export function imagingStudyFromDicom(parameters: ImagingStudyFromDicomParameters): ImagingStudy {
  const { header } = parameters;
  const modality = { system: DICOM_DCM_SYSTEM, code: header.modality };
  const subject = (parameters.subject as ImagingStudy['subject'] | undefined) ?? {
    ...(header.patientId === undefined ? {} : { identifier: { value: header.patientId } }),
    display: header.patientName?.replace(/\^+/gu, ' ').trim() || 'unknown patient',
  };
  const started = dicomDate(header.studyDate);
  const study: ImagingStudy = {
    resourceType: 'ImagingStudy',
    // a DICOM UID (≤ 64 digits and dots) is a valid FHIR id
    id: parameters.id ?? header.studyInstanceUid,
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${header.studyInstanceUid}` }],
    status: 'available',
    modality: [modality],
    subject,
    numberOfSeries: 1,
    numberOfInstances: 1,
    series: [
      {
        uid: header.seriesInstanceUid,
        modality,
        numberOfInstances: 1,
        ...(header.seriesNumber === undefined ? {} : { number: header.seriesNumber }),
        ...(header.seriesDescription === undefined ? {} : { description: header.seriesDescription }),
        ...(header.bodyPartExamined === undefined
          ? {}
          : { bodySite: { code: header.bodyPartExamined, display: header.bodyPartExamined } }),
        ...(started === undefined ? {} : { started }),
        instance: [
          {
            uid: header.sopInstanceUid,
            sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${header.sopClassUid}` },
            ...(header.instanceNumber === undefined ? {} : { number: header.instanceNumber }),
          },
        ],
      },
    ],
  };
  if (started !== undefined) study.started = started;
  if (header.studyDescription !== undefined) study.description = header.studyDescription;
  return study;
}
