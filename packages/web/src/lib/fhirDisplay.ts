import { clinicalDate, recordCategory } from '@carekey/sdk/fhir';
import type { Resource } from './records.ts';

type Coding = { system?: string; code?: string; display?: string };
type CodeableConcept = { text?: string; coding?: Coding[] };
type Reference = { reference?: string; display?: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

export function conceptText(value: unknown): string | undefined {
  const c = value as CodeableConcept | undefined;
  if (c === undefined || c === null || typeof c !== 'object') return undefined;
  return str(c.text) ?? c.coding?.map((x) => str(x.display) ?? str(x.code)).find(Boolean);
}

/** Plain-language names of record kinds (the timeline filter). */
const KIND_LABELS: Record<string, string> = {
  'Observation|laboratory': 'Lab results',
  'Observation|vital-signs': 'Vital signs',
  'Observation|survey': 'Questionnaires',
  'Observation|social-history': 'Social history',
  Observation: 'Observations',
  Condition: 'Conditions',
  MedicationRequest: 'Medications',
  MedicationStatement: 'Medications',
  Medication: 'Medications',
  MedicationAdministration: 'Medications',
  AllergyIntolerance: 'Allergies',
  Immunization: 'Immunizations',
  Procedure: 'Procedures',
  Encounter: 'Visits',
  DiagnosticReport: 'Reports',
  DocumentReference: 'Documents',
  ImagingStudy: 'Imaging',
  CarePlan: 'Care plans',
  CareTeam: 'Care teams',
  Claim: 'Billing',
  ExplanationOfBenefit: 'Billing',
  Patient: 'About me',
  Organization: 'Institutions',
  Practitioner: 'Clinicians',
  PractitionerRole: 'Clinicians',
  Location: 'Places',
  Device: 'Devices',
  SupplyDelivery: 'Supplies',
  Provenance: 'Provenance',
};

/** The kind of a record for filtering ("Lab results", "Conditions"…): the SDK's `recordCategory`, in words. */
export function kindOf(resource: Resource): string {
  return (
    KIND_LABELS[recordCategory(resource as never)] ??
    KIND_LABELS[resource.resourceType] ??
    resource.resourceType
  );
}

/** A one-line title of a record ("Hemoglobin A1c", "Amoxicillin 250 MG", "Penicillin allergy"). */
export function titleOf(resource: Resource): string {
  const r = resource as Record<string, unknown>;
  switch (resource.resourceType) {
    case 'Patient': {
      const name = (r.name as { given?: string[]; family?: string }[] | undefined)?.[0];
      return [name?.given?.join(' '), name?.family].filter(Boolean).join(' ') || 'Patient';
    }
    case 'Organization':
    case 'Practitioner':
    case 'Location':
      return nameOf(resource) ?? resource.resourceType;
    case 'MedicationRequest':
    case 'MedicationStatement':
    case 'MedicationAdministration':
      return (
        conceptText(r.medicationCodeableConcept) ??
        str((r.medicationReference as Reference)?.display) ??
        'Medication'
      );
    case 'Immunization':
      return conceptText(r.vaccineCode) ?? 'Immunization';
    case 'Encounter':
      return conceptText((r.type as unknown[] | undefined)?.[0]) ?? conceptText(r.class) ?? 'Visit';
    case 'Claim':
    case 'ExplanationOfBenefit':
      return `${resource.resourceType === 'Claim' ? 'Claim' : 'Explanation of benefit'}${conceptText(r.type) ? ` (${conceptText(r.type)})` : ''}`;
    case 'AllergyIntolerance':
      return `Allergy: ${conceptText(r.code) ?? 'unknown substance'}`;
    case 'DocumentReference':
      return str(r.description) ?? conceptText(r.type) ?? 'Document';
    case 'ImagingStudy':
      return (
        str(r.description) ?? conceptText((r.procedureCode as unknown[] | undefined)?.[0]) ?? 'Imaging study'
      );
    case 'CarePlan':
      return (
        conceptText((r.category as unknown[] | undefined)?.[1]) ??
        conceptText((r.category as unknown[] | undefined)?.[0]) ??
        'Care plan'
      );
    default:
      return conceptText(r.code) ?? conceptText(r.type) ?? resource.resourceType;
  }
}

function nameOf(resource: Resource): string | undefined {
  const r = resource as Record<string, unknown>;
  if (typeof r.name === 'string') return r.name;
  const n = (
    r.name as { text?: string; prefix?: string[]; given?: string[]; family?: string }[] | undefined
  )?.[0];
  if (n === undefined) return undefined;
  return str(n.text) ?? [n.prefix?.join(' '), n.given?.join(' '), n.family].filter(Boolean).join(' ');
}

/** The clinical date of a record (not the import date), as written in it. */
const MODALITIES: Record<string, string> = {
  CT: 'CT scan',
  MR: 'MRI scan',
  US: 'Ultrasound',
  CR: 'X-ray',
  DX: 'X-ray',
  MG: 'Mammogram',
  PT: 'PET scan',
  NM: 'Nuclear medicine scan',
  XA: 'Angiography',
  OT: 'Image',
};

/** An imaging study in a line: what kind of scan (DICOM modality in words), of what, how many images. */
export function imagingFacts(resource: Resource): string | undefined {
  if (resource.resourceType !== 'ImagingStudy') return undefined;
  const r = resource as {
    modality?: { code?: string }[];
    series?: { bodySite?: { display?: string; code?: string }; numberOfInstances?: number }[];
    numberOfInstances?: number;
  };
  const code = r.modality?.[0]?.code;
  const what = code === undefined ? 'Imaging study' : (MODALITIES[code] ?? `${code} study`);
  const site = r.series?.map((s) => s.bodySite?.display ?? s.bodySite?.code).find((s) => s !== undefined);
  const images = r.numberOfInstances;
  return [
    what,
    site === undefined ? 'body part not recorded' : `body part: ${site.toLowerCase()}`,
    ...(images === undefined ? [] : [`${images} image${images === 1 ? '' : 's'}`]),
  ].join(' · ');
}

export function dateOf(resource: Resource): string | undefined {
  return clinicalDate(resource as never);
}

// One formatter of each kind for the whole page: `toLocaleString` builds a new one per call, which a timeline of
// thousands of records pays for on every render.
const WITH_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const DAY_ONLY = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

/** Formats a FHIR date or dateTime for people ("3 Mar 2021", with time when there is one). */
export function formatDate(value: string | undefined): string {
  if (value === undefined) return 'date unknown';
  const date = new Date(value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value);
  if (Number.isNaN(date.getTime())) return value;
  return (value.length > 10 ? WITH_TIME : DAY_ONLY).format(date);
}

/** Orders FHIR dates and dateTimes newest first (ISO strings compare by code unit; no locale collation needed). */
export function newestFirst(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? 1 : x > y ? -1 : 0;
}

/** Who and where a record came from, resolved through the other records of the same person. */
export type Provenance = { institution: string; author?: string };

/** Whose records an index names the sources of, to say who imported a record that names no institution. */
export type SourceViewer = {
  /** The reader: a record whose custodian is this identity reads "Imported by you". */
  me?: string;
  /** The patient whose records they are, when the reader is someone else: "Imported by the patient". */
  patient?: string;
};

/** The lower-case address in a custodian (`meta.source`) written as an address or a `did:ethr` DID. */
function custodianAddress(source: unknown): string | undefined {
  if (typeof source !== 'string') return undefined;
  return /^(?:did:ethr:(?:0x[0-9a-fA-F]+:)?)?(0x[0-9a-fA-F]{40})$/u.exec(source)?.[1]?.toLowerCase();
}

/** An index of the organisations, clinicians and visits among a person's records, to name the source of each. */
export class SourceIndex {
  readonly #names = new Map<string, string>();
  readonly #encounters = new Map<string, Resource>();
  readonly #viewer: SourceViewer;

  constructor(resources: Iterable<Resource>, viewer: SourceViewer = {}) {
    this.#viewer = viewer;
    for (const r of resources) {
      if (r.id === undefined) continue;
      const name = nameOf(r);
      if (name !== undefined) this.#names.set(`${r.resourceType}/${r.id}`, name);
      if (r.resourceType === 'Encounter') this.#encounters.set(`Encounter/${r.id}`, r);
    }
  }

  #name(ref: unknown): string | undefined {
    const r = ref as Reference | undefined;
    if (r === undefined || r === null) return undefined;
    return str(r.display) ?? (r.reference === undefined ? undefined : this.#names.get(r.reference));
  }

  /**
   * Who published a record with no institution in it, from its custodian (`meta.source`, the publisher's DID that
   * the CLI's and the portal's imports set): "Imported by you", "Imported by the patient", else the custodian's
   * address; `undefined` when there is none.
   */
  #custodian(resource: Resource): string | undefined {
    const source = (resource.meta as { source?: unknown } | undefined)?.source;
    const address = custodianAddress(source);
    if (address === undefined) return undefined;
    if (address === this.#viewer.me?.toLowerCase()) return 'Imported by you';
    if (address === this.#viewer.patient?.toLowerCase()) return 'Imported by the patient';
    return `Published by ${address.slice(0, 8)}…${address.slice(-6)}`;
  }

  /** The institution and author of a record, else who imported it, else "Source not stated". */
  of(resource: Resource): Provenance {
    const r = resource as Record<string, unknown>;
    const encounterRef = (r.encounter ?? r.context) as Reference | undefined;
    const encounter =
      resource.resourceType === 'Encounter'
        ? resource
        : encounterRef?.reference === undefined
          ? undefined
          : this.#encounters.get(encounterRef.reference);
    const e = encounter as Record<string, unknown> | undefined;
    const institution =
      this.#name(e?.serviceProvider) ??
      this.#name(r.provider) ??
      this.#name(r.custodian) ??
      this.#name(r.managingOrganization) ??
      this.#name(r.organization) ??
      this.#name(
        (r.performer as Reference[] | undefined)?.find((p) => p.reference?.startsWith('Organization/')),
      ) ??
      this.#custodian(resource) ??
      'Source not stated';
    const author =
      this.#name((r.performer as unknown[] | undefined)?.[0]) ??
      this.#name((r.performer as { actor?: Reference }[] | undefined)?.[0]?.actor) ??
      this.#name(r.recorder) ??
      this.#name(r.requester) ??
      this.#name(r.asserter) ??
      this.#name((e?.participant as { individual?: Reference }[] | undefined)?.[0]?.individual);
    return author === undefined ? { institution } : { institution, author };
  }
}

/** Security labels that mark a record sensitive: shown only when the person selects it. */
const SENSITIVE = new Set([
  'R',
  'V',
  'PSY',
  'PSYTHPN',
  'HIV',
  'ETH',
  'SDV',
  'SEX',
  'STD',
  'SUD',
  'GDIS',
  'BH',
  'MH',
]);

export function isSensitive(resource: Resource): boolean {
  const labels = (resource.meta as { security?: Coding[] } | undefined)?.security ?? [];
  return labels.some((c) => c.code !== undefined && SENSITIVE.has(c.code));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The narrative of a resource (`text.div`, XHTML written by someone else) as plain text. It is never parsed into a
 * live document: script, style and other embedded blocks are dropped with their content, every other tag is removed,
 * entities are decoded, and the result is rendered as a React text node — never as HTML (T-22).
 */
export function narrativeText(resource: Resource): string | undefined {
  const div = (resource.text as { div?: unknown } | undefined)?.div;
  if (typeof div !== 'string' || div.trim() === '') return undefined;
  const text = div
    .replace(/<(script|style|template|iframe|object|embed|svg|math|noscript)\b[\s\S]*?<\/\1\s*>/giu, ' ')
    .replace(/<!--[\s\S]*?-->/gu, ' ')
    .replace(/<(br|p|div|li|tr|h[1-6])\b[^>]*>/giu, ' ')
    .replace(/<[^>]*>?/gu, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/giu, (whole, name: string) => {
      if (name.startsWith('#x') || name.startsWith('#X'))
        return safeChar(Number.parseInt(name.slice(2), 16), whole);
      if (name.startsWith('#')) return safeChar(Number.parseInt(name.slice(1), 10), whole);
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/\s+/gu, ' ')
    .trim();
  return text === '' ? undefined : text;
}

function safeChar(code: number, fallback: string): string {
  return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : fallback;
}
