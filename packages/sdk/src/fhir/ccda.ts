import { convertCcdaToFhir, convertXmlToCcda } from '@medplum/ccda';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { XMLValidator } from 'fast-xml-parser';
import { FhirImportError } from '../errors/fhir.ts';

/** Largest C-CDA accepted by default (hospital exports are 0.1–5 MB). */
export const DEFAULT_MAX_CCDA_BYTES = 32 * 1024 * 1024;

export type ConvertCcdaParameters = {
  /** The C-CDA XML document (bytes are decoded as UTF-8, strictly). */
  input: Uint8Array | string;
  /** Refuse larger inputs (default 32 MiB). */
  maxBytes?: number;
};

export type ConvertCcdaReturnType = {
  /** A FHIR R4 document Bundle (Composition first), not yet validated. */
  bundle: Bundle;
  /** What was repaired in the converter's output, one line per kind of repair (empty when nothing was). */
  repairs: string[];
};

/**
 * Converts a C-CDA document (HL7 CDA R2, the usual hospital export) to a FHIR R4 document Bundle with
 * `@medplum/ccda`, then repairs the known faults of that converter's output (docs/fhir.md, "C-CDA") so that
 * `validateFhir` judges the content, not the converter. Validation is the caller's next step: nothing here
 * makes an invalid document valid by inventing clinical data.
 * @throws FhirImportError (`reason` `not-ccda`, `too-large`, `unsafe-xml`, `conversion`) with a one-line message.
 * @example
 * const { bundle } = convertCcda({ input: await readFile('discharge.xml') });
 * const { records } = await splitIntoRecords({ input: bundle });
 */
export function convertCcda(parameters: ConvertCcdaParameters): ConvertCcdaReturnType {
  const maxBytes = parameters.maxBytes ?? DEFAULT_MAX_CCDA_BYTES;
  const { input } = parameters;
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > maxBytes) {
    throw new FhirImportError(`the C-CDA document is ${size} bytes, over the limit of ${maxBytes}`, {
      reason: 'too-large',
    });
  }
  let xml: string;
  try {
    xml = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (cause) {
    throw new FhirImportError('the C-CDA document is not valid UTF-8', { reason: 'not-ccda', cause });
  }
  // A DOCTYPE can declare entities (billion laughs, external entities); CDA documents never carry one.
  if (/<!DOCTYPE/iu.test(xml)) {
    throw new FhirImportError('the C-CDA document has a DOCTYPE declaration, which CDA does not use', {
      reason: 'unsafe-xml',
      hint: 'remove the DOCTYPE (entities are not expanded)',
    });
  }
  if (!/<(?:[A-Za-z_][\w.-]*:)?ClinicalDocument[\s>]/u.test(xml)) {
    throw new FhirImportError('not a C-CDA document: no ClinicalDocument element', { reason: 'not-ccda' });
  }
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true) {
    const { msg, line, col } = wellFormed.err;
    throw new FhirImportError(
      `the C-CDA document is not well-formed XML: ${msg} (line ${line}, column ${col})`,
      {
        reason: 'not-ccda',
      },
    );
  }
  let bundle: Bundle;
  let documentId: { root?: string; extension?: string } | undefined;
  try {
    const ccda = convertXmlToCcda(xml);
    if (ccda === undefined || typeof ccda !== 'object') throw new Error('no ClinicalDocument root element');
    documentId = (ccda.id as { '@_root'?: string; '@_extension'?: string }[] | undefined)?.map((id) => ({
      ...(id['@_root'] === undefined ? {} : { root: id['@_root'] }),
      ...(id['@_extension'] === undefined ? {} : { extension: id['@_extension'] }),
    }))[0];
    bundle = convertCcdaToFhir(ccda);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new FhirImportError(`the C-CDA document cannot be converted to FHIR: ${why}`, {
      reason: 'conversion',
      cause,
      hint: '@medplum/ccda 4.5.2 does not handle this document',
    });
  }
  return { bundle, repairs: repairConverterOutput(bundle, documentId) };
}

/** Repairs in place the faults `@medplum/ccda` 4.5.2 is known to write; returns what it did. */
function repairConverterOutput(
  bundle: Bundle,
  documentId: { root?: string; extension?: string } | undefined,
) {
  const counts = new Map<string, number>();
  const note = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);

  // bdl-9: a document Bundle has an identifier; the CDA's own ClinicalDocument.id is that identifier.
  if (bundle.identifier === undefined && documentId?.root !== undefined) {
    bundle.identifier = {
      system: `urn:oid:${documentId.root}`,
      value: documentId.extension ?? documentId.root,
    };
    note('Bundle.identifier set from ClinicalDocument.id (bdl-9)');
  }
  const seen = new Set<string>();
  // bdl-10: a document Bundle has a timestamp; the CDA's effectiveTime became Composition.date.
  const composition = bundle.entry?.[0]?.resource;
  if (bundle.timestamp === undefined && composition?.resourceType === 'Composition') {
    const date = fixOffset(composition.date);
    if (date !== undefined && /T/u.test(date)) {
      bundle.timestamp = date;
      note('Bundle.timestamp set from ClinicalDocument.effectiveTime (bdl-10)');
    }
  }
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    const resource = entry.resource as (Resource & Record<string, unknown>) | undefined;
    if (resource === undefined) continue;
    // Practitioner.qualification written as a CodeableConcept instead of { code: CodeableConcept }.
    const qualifications = (resource as Record<string, unknown>).qualification;
    if (resource.resourceType === 'Practitioner' && Array.isArray(qualifications)) {
      (resource as Record<string, unknown>).qualification = qualifications.map(
        (q: Record<string, unknown>) => {
          if (q.code !== undefined || (q.coding === undefined && q.text === undefined)) return q;
          const { coding, text, ...rest } = q;
          note('Practitioner.qualification.code restored');
          return {
            ...rest,
            code: { ...(coding === undefined ? {} : { coding }), ...(text === undefined ? {} : { text }) },
          };
        },
      );
    }
    walk(resource, note);
    // The same CDA id on several entries (the converter reuses it as the FHIR id): later ones get a derived id.
    const key = `${resource.resourceType}/${resource.id}`;
    if (resource.id !== undefined && seen.has(key)) {
      const digest = bytesToHex(sha256(new TextEncoder().encode(`${key}#${index}`)));
      resource.id = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
      if (entry.fullUrl !== undefined) entry.fullUrl = `urn:uuid:${resource.id}`;
      note('repeated CDA id on another entry: new derived id');
    }
    if (resource.id !== undefined) seen.add(`${resource.resourceType}/${resource.id}`);
  }
  return [...counts].map(([what, n]) => `${what} (${n}×)`);
}

/** `2012-09-15T00:00:-0400` (no seconds, offset without colon) and `…T12:30:00-0400`. */
const BROKEN_OFFSET = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?:?([+-]\d{2})(\d{2})$/u;

function fixOffset<value extends string | undefined>(value: value): value {
  const m = value === undefined ? null : BROKEN_OFFSET.exec(value);
  return (m === null ? value : `${m[1]}${m[2] ?? ':00'}${m[3]}:${m[4]}`) as value;
}

/** Fixes broken dateTime offsets and drops empty arrays and objects (FHIR forbids them), depth first. */
function walk(node: unknown, note: (what: string) => void): void {
  if (Array.isArray(node)) {
    for (let i = node.length - 1; i >= 0; i--) {
      walk(node[i], note);
      if (isEmpty(node[i])) {
        node.splice(i, 1);
        note('empty element removed');
      }
    }
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const object = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) {
      delete object[key]; // JSON would drop it; the validator sees the object as empty otherwise
      continue;
    }
    if (typeof value === 'string') {
      const fixed = fixOffset(value);
      if (fixed !== value) {
        object[key] = fixed;
        note('dateTime offset written as ±hh:mm');
      }
      continue;
    }
    walk(value, note);
    if (isEmpty(value)) {
      delete object[key];
      note('empty element removed');
    }
  }
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0;
}
