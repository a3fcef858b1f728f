/**
 * `@carekey/sdk/clinical` — the patient index, built in a gateway from decrypted records across institutions:
 * timeline, problems, medications, allergies, immunisations, lab results (range, flag, trends), imaging; the same
 * fact from two institutions once with both sources; an International Patient Summary document. Pure and
 * isomorphic (no I/O): the CLI, the gateway and the web portal use the same code. See docs/clinical.md.
 */

export {
  type BuildIpsDocumentParameters,
  type BuildIpsDocumentReturnType,
  buildIpsDocument,
} from './buildIpsDocument.ts';
export {
  type AllergyEntry,
  type BuildPatientIndexParameters,
  type BuildPatientIndexReturnType,
  buildPatientIndex,
  factDate,
  type ImagingEntry,
  type ImmunizationEntry,
  isLaboratory,
  type LabResult,
  type LabTrend,
  type MedicationEntry,
  type PatientIndex,
  type ProblemEntry,
  type ReferenceRange,
  type TimelineEntry,
} from './buildPatientIndex.ts';
export { ClinicalError } from './ClinicalError.ts';
export { dayOf, normalizeTime, timeOf } from './clinicalTime.ts';
export {
  allCodeKeys,
  CVX,
  codeKey,
  codeRef,
  DICOM_DCM,
  hasCode,
  LOINC,
  primaryCoding,
  RXNORM,
  SNOMED,
} from './codes.ts';
export { dedupeFacts } from './dedupeFacts.ts';
export { factKey, observationValueKey, studyInstanceUid } from './factKey.ts';
export {
  interpretationFlag,
  LAB_FLAG_TEXT,
  type LabFlag,
  type LabFlagSource,
  type LabFlagText,
  labFlag,
  labFlagUrgency,
  normalRange,
} from './labFlag.ts';
export type { CodeRef, Fact, RecordSource, SourcedResource } from './types.ts';
