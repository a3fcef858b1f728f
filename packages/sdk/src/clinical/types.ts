import type { Resource } from '@medplum/fhirtypes';

/** Where one decrypted record came from. */
export type RecordSource = {
  /**
   * The institution that published the record (its address or DID; the patient itself for its own imports).
   * Two records from the same custodian with the same `recordId` are the same record.
   */
  custodian: string;
  /** A human name for the custodian, when the gateway knows one (e.g. "Hospital B"). */
  custodianName?: string;
  /** The Carekey record id (hex). */
  recordId: string;
};

/** One decrypted FHIR resource with its source: the input of the patient index. */
export type SourcedResource = { resource: Resource; source: RecordSource };

/** A code as shown to people: the coding the index chose (LOINC, SNOMED CT, CVX, RxNorm first) and a display. */
export type CodeRef = {
  system?: string;
  code?: string;
  /** The coding's display, else the concept's text, else the code, else `"(no code)"`. */
  display: string;
};

/**
 * One clinical fact: one or more records saying the same thing (see `factKey`), once, with every source.
 * `resource` is the representative record: the one whose source sorts first (custodian, then record id).
 */
export type Fact<resource extends Resource = Resource> = {
  /** The deduplication key (`factKey`): equal keys are the same fact. */
  key: string;
  resource: resource;
  /** Every record that reported the fact, sorted by custodian then record id, without repeats. */
  sources: RecordSource[];
};
