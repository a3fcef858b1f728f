import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import type { CodeRef } from './types.ts';

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const CVX = 'http://hl7.org/fhir/sid/cvx';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const DICOM_DCM = 'http://dicom.nema.org/resources/ontology/DCM';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/** Code systems tried first, in this order, when a concept has several codings. */
const PREFERRED = [LOINC, SNOMED, CVX, RXNORM, DICOM_DCM];

/** The coding of a concept the index keys on: the first coding in a preferred system, else the first with a code. */
export function primaryCoding(concept: CodeableConcept | Coding | undefined): Coding | undefined {
  if (concept === undefined) return undefined;
  const codings: Coding[] =
    'coding' in concept || !('code' in concept)
      ? ((concept as CodeableConcept).coding ?? [])
      : [concept as Coding];
  for (const system of PREFERRED) {
    const found = codings.find((c) => c.system === system && typeof c.code === 'string' && c.code !== '');
    if (found) return found;
  }
  return codings.find((c) => typeof c.code === 'string' && c.code !== '');
}

/** A concept as a {@link CodeRef}. */
export function codeRef(concept: CodeableConcept | Coding | undefined): CodeRef {
  const coding = primaryCoding(concept);
  const text = concept !== undefined && 'text' in concept ? concept.text : undefined;
  const display = coding?.display ?? text ?? coding?.code ?? '(no code)';
  const ref: CodeRef = { display };
  if (coding?.system !== undefined) ref.system = coding.system;
  if (coding?.code !== undefined) ref.code = coding.code;
  return ref;
}

/** `system|code` of a concept's primary coding, else `text:<text>`, else `''`. */
export function codeKey(concept: CodeableConcept | Coding | undefined): string {
  const coding = primaryCoding(concept);
  if (coding?.code !== undefined) return `${coding.system ?? ''}|${coding.code}`;
  const text = concept !== undefined && 'text' in concept ? concept.text : undefined;
  return text ? `text:${text.trim().toLowerCase()}` : '';
}

/** Every `system|code` of a concept (for matching orders against records by any shared coding). */
export function allCodeKeys(concept: CodeableConcept | Coding | undefined): string[] {
  if (concept === undefined) return [];
  const codings: Coding[] =
    'coding' in concept || !('code' in concept)
      ? ((concept as CodeableConcept).coding ?? [])
      : [concept as Coding];
  return codings
    .filter((c) => typeof c.code === 'string' && c.code !== '')
    .map((c) => `${c.system ?? ''}|${c.code}`);
}

/** Whether a concept has a coding `system|code`. */
export function hasCode(concept: CodeableConcept | undefined, system: string, code: string): boolean {
  return (concept?.coding ?? []).some((c) => c.system === system && c.code === code);
}
