import type {
  AllergyIntolerance,
  CodeableConcept,
  Condition,
  ImagingStudy,
  Immunization,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { clinicalDate } from '../fhir/clinicalDate.ts';
import { recordCategory } from '../fhir/recordCategory.ts';
import { timeOf } from './clinicalTime.ts';
import { codeKey, codeRef, OBSERVATION_CATEGORY, primaryCoding } from './codes.ts';
import { dedupeFacts } from './dedupeFacts.ts';
import { type LabFlag, type LabFlagSource, labFlag, normalRange } from './labFlag.ts';
import type { CodeRef, Fact, SourcedResource } from './types.ts';

/** One dated fact on the timeline. */
export type TimelineEntry = Fact & {
  /** The clinical date as written (`clinicalDate`: effective, onset, performed… — never the import date). */
  date: string;
  resourceType: string;
  /** `resourceType` or `resourceType|category code` (`recordCategory`). */
  category: string;
  display: string;
};

export type ProblemEntry = Fact<Condition> & {
  code: CodeRef;
  /** `active` (active, recurrence, relapse), `resolved` (resolved, remission, inactive, or abated), else `unknown`. */
  status: 'active' | 'resolved' | 'unknown';
  onset?: string;
  abatement?: string;
};

export type MedicationEntry = Fact<MedicationRequest | MedicationStatement> & {
  code: CodeRef;
  status: string;
  /** Status `active` (or `intended`/`on-hold` for a statement): the patient is on it. */
  active: boolean;
  date?: string;
};

export type AllergyEntry = Fact<AllergyIntolerance> & {
  code: CodeRef;
  status: string;
  criticality?: string;
  categories: string[];
  date?: string;
};

export type ImmunizationEntry = Fact<Immunization> & { code: CodeRef; status: string; date?: string };

export type ReferenceRange = { low?: number; high?: number; unit?: string; text?: string };

export type LabResult = Fact<Observation> & {
  /** The test (LOINC first). */
  code: CodeRef;
  date?: string;
  /** Number for a quantity, text for a coded or string result. */
  value?: number | string;
  unit?: string;
  referenceRange?: ReferenceRange;
  flag?: LabFlag;
  flagFrom?: LabFlagSource;
};

export type LabTrend = {
  /** `system|code` of the test (LOINC first). */
  key: string;
  code: CodeRef;
  /** Every result of the test, oldest first. */
  results: LabResult[];
  /** Latest numeric value compared with the one before, when both have the same unit. */
  direction?: 'up' | 'down' | 'same';
};

export type ImagingEntry = Fact<ImagingStudy> & {
  date?: string;
  modalities: CodeRef[];
  bodySites: CodeRef[];
  procedures: CodeRef[];
  description?: string;
};

/** The patient index: every clinical fact once, each with all its sources. */
export type PatientIndex = {
  patients: Fact<Patient>[];
  /** Every dated fact, oldest first (billing resources — Claim, ExplanationOfBenefit, Coverage — left out). */
  timeline: TimelineEntry[];
  problems: ProblemEntry[];
  medications: MedicationEntry[];
  allergies: AllergyEntry[];
  immunizations: ImmunizationEntry[];
  /** Observations of category `laboratory`, newest first. */
  labs: LabResult[];
  /** Lab results per test code, tests sorted by display. */
  trends: LabTrend[];
  imaging: ImagingEntry[];
  /** Records read, before deduplication. */
  recordCount: number;
};

export type BuildPatientIndexParameters = {
  /** The patient's decrypted records, from every institution, each with its source. */
  records: readonly SourcedResource[];
};

export type BuildPatientIndexReturnType = PatientIndex;

const NOT_ON_TIMELINE = new Set(['Claim', 'ExplanationOfBenefit', 'Coverage']);

/**
 * Builds the patient index from decrypted records across institutions: timeline by clinical date, problems,
 * medications, allergies, immunisations, lab results (value, unit, range, flag) with trends per test, imaging.
 * The same fact reported by several records (`factKey`) appears once with every source (`dedupeFacts`).
 * Pure and isomorphic: no I/O, the same input gives the same index whatever its order.
 *
 * @example
 * const index = buildPatientIndex({ records: [{ resource, source: { custodian: '0xHospital', recordId } }] });
 * index.labs[0]; // { code: { system: 'http://loinc.org', code: '2339-0', ... }, value: 95, unit: 'mg/dL', flag: 'N', sources: [...] }
 */
export function buildPatientIndex(parameters: BuildPatientIndexParameters): BuildPatientIndexReturnType {
  const { records } = parameters;
  const facts = dedupeFacts(records);
  const medications = new Map<string, Medication>();
  for (const { resource } of records) {
    if (resource.resourceType === 'Medication' && resource.id !== undefined)
      medications.set(`Medication/${resource.id}`, resource);
  }

  const index: PatientIndex = {
    patients: [],
    timeline: [],
    problems: [],
    medications: [],
    allergies: [],
    immunizations: [],
    labs: [],
    trends: [],
    imaging: [],
    recordCount: records.length,
  };
  for (const fact of facts) {
    const resource = fact.resource;
    const date = factDate(resource);
    if (date !== undefined && !NOT_ON_TIMELINE.has(resource.resourceType)) {
      index.timeline.push({
        ...fact,
        date,
        resourceType: resource.resourceType,
        category: recordCategory(resource),
        display: displayOf(resource, medications),
      });
    }
    switch (resource.resourceType) {
      case 'Patient':
        index.patients.push(fact as Fact<Patient>);
        break;
      case 'Condition':
        index.problems.push(problem(fact as Fact<Condition>));
        break;
      case 'MedicationRequest':
      case 'MedicationStatement':
        index.medications.push(
          medication(fact as Fact<MedicationRequest | MedicationStatement>, medications),
        );
        break;
      case 'AllergyIntolerance':
        index.allergies.push(allergy(fact as Fact<AllergyIntolerance>));
        break;
      case 'Immunization':
        index.immunizations.push(immunization(fact as Fact<Immunization>));
        break;
      case 'Observation':
        if (isLaboratory(resource)) index.labs.push(labResult(fact as Fact<Observation>));
        break;
      case 'ImagingStudy':
        index.imaging.push(imaging(fact as Fact<ImagingStudy>));
        break;
    }
  }
  const byDateAsc = (a: { date?: string; key: string }, b: { date?: string; key: string }) =>
    (timeOf(a.date) ?? Number.NEGATIVE_INFINITY) - (timeOf(b.date) ?? Number.NEGATIVE_INFINITY) ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const byDateDesc = (a: { date?: string; key: string }, b: { date?: string; key: string }) =>
    byDateAsc(b, a);
  index.timeline.sort(byDateAsc);
  index.problems.sort((a, b) => byDateDesc({ key: a.key, ...opt(a.onset) }, { key: b.key, ...opt(b.onset) }));
  index.medications.sort(byDateDesc);
  index.allergies.sort(byDateDesc);
  index.immunizations.sort(byDateDesc);
  index.labs.sort(byDateDesc);
  index.imaging.sort(byDateDesc);
  index.trends = trends(index.labs, byDateAsc);
  return index;
}

/** The clinical date of a resource (`clinicalDate`, and `started` for an ImagingStudy). */
export function factDate(resource: Resource): string | undefined {
  return clinicalDate(resource) ?? (resource.resourceType === 'ImagingStudy' ? resource.started : undefined);
}

function opt(date: string | undefined): { date?: string } {
  return date === undefined ? {} : { date };
}

/** Whether an Observation is a laboratory result (category `laboratory`). */
export function isLaboratory(o: Observation): boolean {
  return (o.category ?? []).some((c) =>
    (c.coding ?? []).some(
      (x) => x.code === 'laboratory' && (x.system === undefined || x.system === OBSERVATION_CATEGORY),
    ),
  );
}

function displayOf(resource: Resource, medications: Map<string, Medication>): string {
  const r = resource as Resource & Record<string, unknown>;
  if (resource.resourceType === 'MedicationRequest' || resource.resourceType === 'MedicationStatement')
    return medicationCode(resource, medications).display;
  if (resource.resourceType === 'ImagingStudy') return imagingDisplay(resource);
  const concept = (r.code ?? r.vaccineCode ?? (Array.isArray(r.type) ? r.type[0] : r.type)) as
    | CodeableConcept
    | undefined;
  if (concept !== undefined && typeof concept === 'object') return codeRef(concept).display;
  return resource.resourceType;
}

function problem(fact: Fact<Condition>): ProblemEntry {
  const c = fact.resource;
  const clinical = primaryCoding(c.clinicalStatus)?.code;
  const abatement = c.abatementDateTime ?? c.abatementPeriod?.start ?? c.abatementString;
  const status: ProblemEntry['status'] =
    clinical === 'active' || clinical === 'recurrence' || clinical === 'relapse'
      ? 'active'
      : clinical === 'resolved' ||
          clinical === 'remission' ||
          clinical === 'inactive' ||
          abatement !== undefined
        ? 'resolved'
        : 'unknown';
  const entry: ProblemEntry = { ...fact, code: codeRef(c.code), status };
  const onset = c.onsetDateTime ?? c.onsetPeriod?.start ?? c.onsetString;
  if (onset !== undefined) entry.onset = onset;
  if (abatement !== undefined) entry.abatement = abatement;
  return entry;
}

function medicationCode(
  m: MedicationRequest | MedicationStatement,
  medications: Map<string, Medication>,
): CodeRef {
  if (m.medicationCodeableConcept !== undefined) return codeRef(m.medicationCodeableConcept);
  const ref = m.medicationReference?.reference;
  const target = ref === undefined ? undefined : medications.get(ref);
  if (target?.code !== undefined) return codeRef(target.code);
  return { display: m.medicationReference?.display ?? '(unnamed medication)' };
}

function medication(
  fact: Fact<MedicationRequest | MedicationStatement>,
  medications: Map<string, Medication>,
): MedicationEntry {
  const m = fact.resource;
  const status = m.status ?? 'unknown';
  const active =
    status === 'active' ||
    (m.resourceType === 'MedicationStatement' && (status === 'intended' || status === 'on-hold'));
  const entry: MedicationEntry = { ...fact, code: medicationCode(m, medications), status, active };
  const date = clinicalDate(m);
  if (date !== undefined) entry.date = date;
  return entry;
}

function allergy(fact: Fact<AllergyIntolerance>): AllergyEntry {
  const a = fact.resource;
  const entry: AllergyEntry = {
    ...fact,
    code: codeRef(a.code),
    status: primaryCoding(a.clinicalStatus)?.code ?? 'unknown',
    categories: [...(a.category ?? [])],
  };
  if (a.criticality !== undefined) entry.criticality = a.criticality;
  const date = clinicalDate(a);
  if (date !== undefined) entry.date = date;
  return entry;
}

function immunization(fact: Fact<Immunization>): ImmunizationEntry {
  const i = fact.resource;
  const entry: ImmunizationEntry = { ...fact, code: codeRef(i.vaccineCode), status: i.status ?? 'unknown' };
  const date = clinicalDate(i);
  if (date !== undefined) entry.date = date;
  return entry;
}

function labResult(fact: Fact<Observation>): LabResult {
  const o = fact.resource;
  const entry: LabResult = { ...fact, code: codeRef(o.code) };
  const date = clinicalDate(o);
  if (date !== undefined) entry.date = date;
  if (o.valueQuantity?.value !== undefined) {
    entry.value = o.valueQuantity.value;
    const unit = o.valueQuantity.unit ?? o.valueQuantity.code;
    if (unit !== undefined) entry.unit = unit;
  } else if (o.valueCodeableConcept !== undefined) entry.value = codeRef(o.valueCodeableConcept).display;
  else if (o.valueString !== undefined) entry.value = o.valueString;
  else if (o.valueInteger !== undefined) entry.value = o.valueInteger;
  else if (o.valueBoolean !== undefined) entry.value = String(o.valueBoolean);
  const range = normalRange(o);
  if (range !== undefined) {
    const r: ReferenceRange = {};
    if (range.low?.value !== undefined) r.low = range.low.value;
    if (range.high?.value !== undefined) r.high = range.high.value;
    const unit = range.low?.unit ?? range.high?.unit ?? range.low?.code ?? range.high?.code;
    if (unit !== undefined) r.unit = unit;
    if (range.text !== undefined) r.text = range.text;
    entry.referenceRange = r;
  }
  const flag = labFlag(o);
  if (flag !== undefined) {
    entry.flag = flag.flag;
    entry.flagFrom = flag.from;
  }
  return entry;
}

function trends(labs: readonly LabResult[], byDateAsc: (a: LabResult, b: LabResult) => number): LabTrend[] {
  const groups = new Map<string, LabResult[]>();
  for (const lab of labs) {
    const key = codeKey(lab.resource.code);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [lab]);
    else group.push(lab);
  }
  const out: LabTrend[] = [];
  for (const [key, results] of groups) {
    results.sort(byDateAsc);
    const trend: LabTrend = { key, code: (results[results.length - 1] as LabResult).code, results };
    const [previous, last] = results.slice(-2);
    if (
      previous !== undefined &&
      last !== undefined &&
      typeof previous.value === 'number' &&
      typeof last.value === 'number' &&
      previous.unit === last.unit
    ) {
      trend.direction = last.value > previous.value ? 'up' : last.value < previous.value ? 'down' : 'same';
    }
    out.push(trend);
  }
  return out.sort((a, b) => a.code.display.localeCompare(b.code.display) || (a.key < b.key ? -1 : 1));
}

function imagingDisplay(s: ImagingStudy): string {
  if (s.description) return s.description;
  const procedure = s.procedureCode?.[0];
  if (procedure !== undefined) return codeRef(procedure).display;
  const series = s.series?.[0];
  const parts = [series?.modality?.display ?? series?.modality?.code, series?.bodySite?.display].filter(
    Boolean,
  );
  return parts.length > 0 ? `${parts.join(' of ')}` : 'Imaging study';
}

function imaging(fact: Fact<ImagingStudy>): ImagingEntry {
  const s = fact.resource;
  const unique = (refs: CodeRef[]) => {
    const seen = new Map<string, CodeRef>();
    for (const r of refs) seen.set(`${r.system ?? ''}|${r.code ?? r.display}`, r);
    return [...seen.values()];
  };
  const entry: ImagingEntry = {
    ...fact,
    modalities: unique(
      [...(s.modality ?? []), ...(s.series ?? []).map((x) => x.modality)].map((m) => codeRef(m)),
    ),
    bodySites: unique(
      (s.series ?? []).flatMap((x) => (x.bodySite === undefined ? [] : [codeRef(x.bodySite)])),
    ),
    procedures: (s.procedureCode ?? []).map((p) => codeRef(p)),
    description: imagingDisplay(s),
  };
  const date = factDate(s);
  if (date !== undefined) entry.date = date;
  return entry;
}
