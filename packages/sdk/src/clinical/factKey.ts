import type {
  AllergyIntolerance,
  Condition,
  DiagnosticReport,
  ImagingStudy,
  Immunization,
  MedicationRequest,
  MedicationStatement,
  Observation,
  ObservationComponent,
  Procedure,
  Resource,
} from '@medplum/fhirtypes';
import { canonicalJson } from '../fhir/canonicalJson.ts';
import { clinicalDate } from '../fhir/clinicalDate.ts';
import { dayOf, normalizeTime } from './clinicalTime.ts';
import { codeKey } from './codes.ts';

/**
 * The deduplication key of a resource: two records with the same key state the same clinical fact and are shown
 * once, with both sources. Keys never depend on resource ids, references, narrative or `meta` (they differ
 * between institutions); they depend on the clinical content (docs/clinical.md, "Same fact"):
 *
 * | type | same fact when equal |
 * |---|---|
 * | Observation | code (LOINC first), effective time (as an instant), value and unit (UCUM code, else unit text), components |
 * | Condition | code (SNOMED CT first), onset |
 * | Immunization | vaccine code (CVX first), occurrence date (the day as written) |
 * | MedicationRequest | medication code (RxNorm first), day authored, status |
 * | MedicationStatement | medication code, day the statement's effective period starts, status |
 * | AllergyIntolerance | substance code, clinical status |
 * | ImagingStudy | DICOM Study Instance UID; without one, start time, modalities and body sites |
 * | Procedure | code, performed time |
 * | DiagnosticReport | code, effective time |
 * | anything else | the whole resource without `id`, `meta` and `text` (identical content only) |
 *
 * A concept without any code keys on its text (lower-cased). Times with a clock are compared as instants
 * (time zones normalised); dates without a time as written (their precision is part of the fact).
 */
export function factKey(resource: Resource): string {
  switch (resource.resourceType) {
    case 'Observation':
      return observationKey(resource);
    case 'Condition':
      return conditionKey(resource);
    case 'Immunization':
      return immunizationKey(resource);
    case 'MedicationRequest':
      return medicationRequestKey(resource);
    case 'MedicationStatement':
      return medicationStatementKey(resource);
    case 'AllergyIntolerance':
      return allergyKey(resource);
    case 'ImagingStudy':
      return imagingKey(resource);
    case 'Procedure':
      return procedureKey(resource);
    case 'DiagnosticReport':
      return diagnosticReportKey(resource);
    default:
      return contentKey(resource);
  }
}

function join(...parts: string[]): string {
  // JSON array text: no separator inside a part can make two different part lists collide.
  return JSON.stringify(parts);
}

function contentKey(resource: Resource): string {
  const { id: _id, meta: _meta, text: _text, ...content } = resource as Resource & { text?: unknown };
  return join(resource.resourceType, 'content', canonicalJson(content));
}

/** The value of an Observation or a component, as a key part. */
export function observationValueKey(o: Observation | ObservationComponent): string {
  if (o.valueQuantity !== undefined) {
    const q = o.valueQuantity;
    return join(
      'q',
      q.comparator ?? '',
      q.value === undefined ? '' : String(Number(q.value)),
      q.code ?? q.unit ?? '',
    );
  }
  if (o.valueCodeableConcept !== undefined) return join('c', codeKey(o.valueCodeableConcept));
  if (o.valueString !== undefined) return join('s', o.valueString);
  if (o.valueBoolean !== undefined) return join('b', String(o.valueBoolean));
  if (o.valueInteger !== undefined) return join('i', String(o.valueInteger));
  if (o.valueDateTime !== undefined) return join('t', normalizeTime(o.valueDateTime));
  if (o.valueTime !== undefined) return join('h', o.valueTime);
  if (o.valueRange !== undefined) return join('r', canonicalJson(o.valueRange));
  if (o.valueRatio !== undefined) return join('ra', canonicalJson(o.valueRatio));
  if (o.valuePeriod !== undefined) return join('p', canonicalJson(o.valuePeriod));
  if (o.valueSampledData !== undefined) return join('sd', canonicalJson(o.valueSampledData));
  if (o.dataAbsentReason !== undefined) return join('absent', codeKey(o.dataAbsentReason));
  return join('none');
}

function observationKey(o: Observation): string {
  const components = (o.component ?? []).map((c) => join(codeKey(c.code), observationValueKey(c))).sort();
  return join(
    'Observation',
    codeKey(o.code),
    normalizeTime(clinicalDate(o)),
    observationValueKey(o),
    ...components,
  );
}

function conditionKey(c: Condition): string {
  const onset = c.onsetDateTime ?? c.onsetPeriod?.start ?? c.onsetString ?? '';
  return join('Condition', codeKey(c.code), normalizeTime(onset));
}

function immunizationKey(i: Immunization): string {
  return join('Immunization', codeKey(i.vaccineCode), dayOf(i.occurrenceDateTime ?? i.occurrenceString));
}

function medicationCode(m: MedicationRequest | MedicationStatement): string {
  if (m.medicationCodeableConcept !== undefined) return codeKey(m.medicationCodeableConcept);
  const display = m.medicationReference?.display;
  return display
    ? `text:${display.trim().toLowerCase()}`
    : join('ref', m.medicationReference?.reference ?? '');
}

function medicationRequestKey(m: MedicationRequest): string {
  return join('MedicationRequest', medicationCode(m), dayOf(m.authoredOn), m.status);
}

function medicationStatementKey(m: MedicationStatement): string {
  return join(
    'MedicationStatement',
    medicationCode(m),
    dayOf(m.effectiveDateTime ?? m.effectivePeriod?.start),
    m.status,
  );
}

function allergyKey(a: AllergyIntolerance): string {
  return join('AllergyIntolerance', codeKey(a.code), codeKey(a.clinicalStatus));
}

/** The DICOM Study Instance UID of an ImagingStudy (`urn:oid:` identifier or `urn:dicom:uid` system). */
export function studyInstanceUid(s: ImagingStudy): string | undefined {
  for (const identifier of s.identifier ?? []) {
    const value = identifier.value;
    if (value === undefined) continue;
    if (identifier.system === 'urn:dicom:uid') return value.replace(/^urn:oid:/u, '');
    if (value.startsWith('urn:oid:')) return value.slice('urn:oid:'.length);
  }
  return undefined;
}

function imagingKey(s: ImagingStudy): string {
  const uid = studyInstanceUid(s);
  if (uid !== undefined) return join('ImagingStudy', 'uid', uid);
  const modalities = [...(s.modality ?? []), ...(s.series ?? []).map((x) => x.modality)].map((m) =>
    codeKey(m),
  );
  const sites = (s.series ?? []).map((x) => (x.bodySite === undefined ? '' : codeKey(x.bodySite)));
  return join(
    'ImagingStudy',
    normalizeTime(s.started),
    [...new Set(modalities)].sort().join(','),
    [...new Set(sites)].sort().join(','),
  );
}

function procedureKey(p: Procedure): string {
  return join('Procedure', codeKey(p.code), normalizeTime(p.performedDateTime ?? p.performedPeriod?.start));
}

function diagnosticReportKey(d: DiagnosticReport): string {
  return join(
    'DiagnosticReport',
    codeKey(d.code),
    normalizeTime(d.effectiveDateTime ?? d.effectivePeriod?.start),
  );
}
