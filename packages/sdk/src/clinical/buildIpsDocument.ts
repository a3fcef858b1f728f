import type {
  Bundle,
  BundleEntry,
  CodeableConcept,
  Composition,
  CompositionSection,
  Device,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { sha256Hex } from '../fhir/canonicalJson.ts';
import type { PatientIndex } from './buildPatientIndex.ts';
import { ClinicalError } from './ClinicalError.ts';
import { LOINC } from './codes.ts';
import type { CodeRef, Fact, RecordSource } from './types.ts';

export type BuildIpsDocumentParameters = {
  index: PatientIndex;
  /** When the summary is made (Bundle.timestamp, Composition.date); default now. */
  now?: Date;
};

export type BuildIpsDocumentReturnType = Bundle;

type Line = { fact: Fact; text: string };

/** A UUID made from a text (SHA-256, formatted as a version-8 UUID): the same index gives the same document ids. */
function uuidOf(text: string): string {
  const h = sha256Hex(text);
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`);
}

function sourcesText(sources: readonly RecordSource[]): string {
  const names = [...new Set(sources.map((s) => s.custodianName ?? s.custodian))];
  return `source${names.length > 1 ? 's' : ''}: ${names.join(', ')}`;
}

function section(
  title: string,
  code: string,
  display: string,
  lines: readonly Line[],
  fullUrlOf: (fact: Fact) => string,
  required: boolean,
): CompositionSection | undefined {
  if (lines.length === 0 && !required) return undefined;
  const base: CompositionSection = { title, code: { coding: [{ system: LOINC, code, display }] } };
  if (lines.length === 0) {
    return {
      ...base,
      text: {
        status: 'generated',
        div: '<div xmlns="http://www.w3.org/1999/xhtml">No information available</div>',
      },
      emptyReason: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason',
            code: 'unavailable',
            display: 'Unavailable',
          },
        ],
      },
    };
  }
  const items = lines
    .map((l) => `<li>${escapeXml(l.text)} (${escapeXml(sourcesText(l.fact.sources))})</li>`)
    .join('');
  return {
    ...base,
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><ul>${items}</ul></div>` },
    entry: lines.map((l) => ({ reference: fullUrlOf(l.fact) })),
  };
}

/**
 * Rewrites a record for a self-contained document: a new id; references to the patient point at the document's
 * Patient entry; other references (to the source institution's encounters, practitioners…, not in the
 * document) keep only their display (`"Encounter (at the source)"` without one), so every reference resolves.
 */
function forDocument(resource: Resource, id: string, patientUrl: string, medication?: CodeRef): Resource {
  const copy = structuredClone(resource) as Resource & Record<string, unknown>;
  copy.id = id;
  delete copy.text;
  for (const field of ['subject', 'patient'] as const) {
    if (field in copy) copy[field] = { reference: patientUrl };
  }
  if (medication !== undefined && 'medicationReference' in copy) {
    delete copy.medicationReference;
    const concept: CodeableConcept = { text: medication.display };
    if (medication.code !== undefined)
      concept.coding = [
        {
          ...(medication.system === undefined ? {} : { system: medication.system }),
          code: medication.code,
          display: medication.display,
        },
      ];
    copy.medicationCodeableConcept = concept;
  }
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    if (typeof object.reference === 'string' && object.reference !== patientUrl) {
      const type = /^([A-Z][A-Za-z]+)\//u.exec(object.reference)?.[1];
      delete object.reference;
      if (typeof object.display !== 'string') object.display = `${type ?? 'Resource'} (at the source)`;
      return;
    }
    for (const v of Object.values(object)) walk(v);
  };
  for (const [key, value] of Object.entries(copy)) {
    if (key !== 'subject' && key !== 'patient') walk(value);
  }
  return copy;
}

function describeDate(date: string | undefined): string {
  return date === undefined ? '' : `${date.slice(0, 10)}: `;
}

/**
 * Builds an International Patient Summary document (a FHIR R4 `Bundle` of type `document`) from the patient index:
 * a Composition (LOINC 60591-5) with sections Allergies (48765-2), Medications (10160-0, the active ones),
 * Problems (11450-4, active), Past illnesses (11348-0, resolved), Immunizations (11369-6), Results (30954-2: the
 * latest result of each lab test, and imaging studies), then the Patient, a Device (the author: Carekey) and each
 * entry. The three required sections say "no information" (emptyReason `unavailable`) when empty. Every
 * narrative line names its sources. Ids are derived from the facts, so the same index and time give the same
 * document. Check it with `validateFhir` (the tests do).
 *
 * @throws {ClinicalError} when the index holds no Patient record.
 * @example
 * const ips = buildIpsDocument({ index: buildPatientIndex({ records }) });
 */
export function buildIpsDocument(parameters: BuildIpsDocumentParameters): BuildIpsDocumentReturnType {
  const { index } = parameters;
  const now = (parameters.now ?? new Date()).toISOString();
  const patientFact = index.patients[0];
  if (patientFact === undefined) {
    throw new ClinicalError('no Patient record among the records: a patient summary needs one', {
      hint: 'import the Patient resource (a Synthea or IPS bundle has one)',
    });
  }
  const patientId = uuidOf(`Patient|${patientFact.key}`);
  const patientUrl = `urn:uuid:${patientId}`;
  const deviceId = uuidOf('Device|carekey');
  const entries = new Map<string, BundleEntry>();
  const fullUrlOf = (fact: Fact) => {
    const id = uuidOf(fact.key);
    const url = `urn:uuid:${id}`;
    if (!entries.has(url)) {
      const medication = index.medications.find((m) => m.key === fact.key)?.code;
      entries.set(url, { fullUrl: url, resource: forDocument(fact.resource, id, patientUrl, medication) });
    }
    return url;
  };

  const allergies = index.allergies.map((a) => ({
    fact: a as Fact,
    text: `${a.code.display}${a.criticality ? `, criticality ${a.criticality}` : ''} (${a.status})`,
  }));
  const medications = index.medications
    .filter((m) => m.active)
    .map((m) => ({ fact: m as Fact, text: `${describeDate(m.date)}${m.code.display}` }));
  const problems = index.problems
    .filter((p) => p.status !== 'resolved')
    .map((p) => ({ fact: p as Fact, text: `${describeDate(p.onset)}${p.code.display}` }));
  const past = index.problems
    .filter((p) => p.status === 'resolved')
    .map((p) => ({ fact: p as Fact, text: `${describeDate(p.onset)}${p.code.display}` }));
  const immunizations = index.immunizations.map((i) => ({
    fact: i as Fact,
    text: `${describeDate(i.date)}${i.code.display}`,
  }));
  const results: Line[] = [
    ...index.trends.flatMap((t) => {
      const latest = t.results[t.results.length - 1];
      if (latest === undefined) return [];
      const value =
        latest.value === undefined ? '' : ` ${latest.value}${latest.unit ? ` ${latest.unit}` : ''}`;
      return [
        {
          fact: latest as Fact,
          text: `${describeDate(latest.date)}${latest.code.display}${value}${latest.flag ? ` [${latest.flag}]` : ''}`,
        },
      ];
    }),
    ...index.imaging.map((s) => ({
      fact: s as Fact,
      text: `${describeDate(s.date)}${s.description ?? 'Imaging study'}`,
    })),
  ];

  const sections = [
    section(
      'Allergies and Intolerances',
      '48765-2',
      'Allergies and adverse reactions Document',
      allergies,
      fullUrlOf,
      true,
    ),
    section(
      'Medication Summary',
      '10160-0',
      'History of Medication use Narrative',
      medications,
      fullUrlOf,
      true,
    ),
    section('Active Problems', '11450-4', 'Problem list - Reported', problems, fullUrlOf, true),
    section('Past Illnesses', '11348-0', 'History of Past illness Narrative', past, fullUrlOf, false),
    section('Immunizations', '11369-6', 'History of Immunization Narrative', immunizations, fullUrlOf, false),
    section(
      'Results',
      '30954-2',
      'Relevant diagnostic tests/laboratory data Narrative',
      results,
      fullUrlOf,
      false,
    ),
  ].filter((s): s is CompositionSection => s !== undefined);

  const compositionId = uuidOf(`Composition|${patientFact.key}|${now}`);
  const composition: Composition = {
    resourceType: 'Composition',
    id: compositionId,
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: patientUrl },
    date: now,
    author: [{ reference: `urn:uuid:${deviceId}` }],
    title: `Patient Summary as of ${now.slice(0, 10)}`,
    section: sections,
  };
  const device: Device = {
    resourceType: 'Device',
    id: deviceId,
    deviceName: [{ name: 'Carekey patient index', type: 'user-friendly-name' }],
  };
  const patient = forDocument(patientFact.resource, patientId, patientUrl) as Patient;
  const bundleId = uuidOf(`Bundle|${compositionId}`);
  return {
    resourceType: 'Bundle',
    id: bundleId,
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${bundleId}` },
    type: 'document',
    timestamp: now,
    entry: [
      { fullUrl: `urn:uuid:${compositionId}`, resource: composition },
      { fullUrl: patientUrl, resource: patient },
      { fullUrl: `urn:uuid:${deviceId}`, resource: device },
      ...entries.values(),
    ],
  };
}
