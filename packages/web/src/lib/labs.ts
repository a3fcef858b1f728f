import {
  type LabFlag as FlagCode,
  LAB_FLAG_TEXT,
  type LabFlagText,
  labFlag,
  labFlagUrgency,
  normalRange,
} from '@carekey/sdk/clinical';
import { conceptText, dateOf } from './fhirDisplay.ts';
import type { Resource } from './records.ts';

type Observation = Parameters<typeof labFlag>[0];

/** A flag in words: the SDK's (`labFlag`, HL7 ObservationInterpretation display names), or "No range". */
export type LabFlag = LabFlagText | 'No range';

/** A numeric result with what a patient needs to read it without a doctor and without colour. */
export type LabValue = {
  name: string;
  /** The test's code (LOINC) when it has one: groups the trend. */
  code: string;
  value: number;
  unit: string;
  low?: number;
  high?: number;
  /** The range as text when given that way ("< 200"). */
  rangeText?: string;
  /** `typical`: the source gave no range; a typical adult range for this test and unit is shown, said as such. */
  rangeSource?: 'source' | 'typical';
  flag: LabFlag;
  /** The SDK's flag code (HL7 ObservationInterpretation), when there is one. */
  flagCode?: FlagCode;
  date?: string;
};

type Quantity = { value?: unknown; unit?: unknown; code?: unknown };
type Range = { low?: Quantity; high?: Quantity; text?: unknown };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Typical adult reference intervals of common tests (LOINC code → range, unit as UCUM/Synthea writes it), used only
 * when the result carries no range of its own and its unit matches; the display says it is a typical range, not the
 * source's (common US laboratory adult intervals; blood pressure per ACC/AHA 2017).
 */
export const TYPICAL_RANGES: Record<string, { unit: string; low?: number; high?: number }> = {
  '2339-0': { unit: 'mg/dL', low: 70, high: 99 },
  '2345-7': { unit: 'mg/dL', low: 70, high: 99 },
  '4548-4': { unit: '%', low: 4, high: 5.6 },
  '2093-3': { unit: 'mg/dL', high: 199 },
  '18262-6': { unit: 'mg/dL', high: 129 },
  '2085-9': { unit: 'mg/dL', low: 40 },
  '2571-8': { unit: 'mg/dL', high: 149 },
  '718-7': { unit: 'g/dL', low: 12, high: 17.5 },
  '4544-3': { unit: '%', low: 36, high: 50 },
  '789-8': { unit: '10*6/uL', low: 4, high: 5.9 },
  '6690-2': { unit: '10*3/uL', low: 4, high: 11 },
  '777-3': { unit: '10*3/uL', low: 150, high: 400 },
  '787-2': { unit: 'fL', low: 80, high: 100 },
  '785-6': { unit: 'pg', low: 27, high: 33 },
  '786-4': { unit: 'g/dL', low: 32, high: 36 },
  '38483-4': { unit: 'mg/dL', low: 0.6, high: 1.3 },
  '2160-0': { unit: 'mg/dL', low: 0.6, high: 1.3 },
  '6299-2': { unit: 'mg/dL', low: 7, high: 20 },
  '2951-2': { unit: 'mmol/L', low: 135, high: 145 },
  '2823-3': { unit: 'mmol/L', low: 3.5, high: 5.1 },
  '2075-0': { unit: 'mmol/L', low: 98, high: 107 },
  '2028-9': { unit: 'mmol/L', low: 22, high: 29 },
  '17861-6': { unit: 'mg/dL', low: 8.6, high: 10.3 },
  '8480-6': { unit: 'mm[Hg]', high: 129 },
  '8462-4': { unit: 'mm[Hg]', high: 79 },
  '39156-5': { unit: 'kg/m2', low: 18.5, high: 24.9 },
  '8867-4': { unit: '/min', low: 60, high: 100 },
  '9279-1': { unit: '/min', low: 12, high: 20 },
};

/**
 * One numeric value (an Observation's own, or one component's) with its range and flag. The flag is the SDK's
 * `labFlag` of that value (the lab's interpretation first, else the value against the normal range, bounds in
 * another unit ignored); a typical adult range stands in only when the source gave none.
 */
function fromQuantity(
  name: string,
  code: string,
  part: Pick<Observation, 'valueQuantity' | 'referenceRange' | 'interpretation'>,
  date: string | undefined,
): LabValue | undefined {
  const quantity = part.valueQuantity as Quantity | undefined;
  const value = num(quantity?.value);
  if (value === undefined) return undefined;
  const range = normalRange({ resourceType: 'Observation', status: 'final', code: {}, ...part }) as
    | Range
    | undefined;
  let low = num(range?.low?.value);
  let high = num(range?.high?.value);
  const unit =
    typeof quantity?.unit === 'string'
      ? quantity.unit
      : typeof quantity?.code === 'string'
        ? quantity.code
        : '';
  let rangeSource: LabValue['rangeSource'] = 'source';
  let judged: Observation = { resourceType: 'Observation', status: 'final', code: {}, ...part };
  const typical = TYPICAL_RANGES[code];
  if (low === undefined && high === undefined && range?.text === undefined && typical?.unit === unit) {
    low = typical.low;
    high = typical.high;
    rangeSource = 'typical';
    const bound = (v: number | undefined) => (v === undefined ? undefined : { value: v, unit });
    judged = {
      ...judged,
      referenceRange: [
        {
          ...(low === undefined ? {} : { low: bound(low) }),
          ...(high === undefined ? {} : { high: bound(high) }),
        } as NonNullable<Observation['referenceRange']>[number],
      ],
    };
  }
  const flagged = labFlag(judged);
  return {
    rangeSource,
    name,
    code,
    value,
    unit,
    ...(low === undefined ? {} : { low }),
    ...(high === undefined ? {} : { high }),
    ...(typeof range?.text === 'string' ? { rangeText: range.text } : {}),
    flag: flagged === undefined ? 'No range' : LAB_FLAG_TEXT[flagged.flag],
    ...(flagged === undefined ? {} : { flagCode: flagged.flag }),
    ...(date === undefined ? {} : { date }),
  };
}

/** The numeric values of an Observation (one, or one per component, as blood pressure). */
export function labValues(resource: Resource): LabValue[] {
  if (resource.resourceType !== 'Observation') return [];
  const r = resource as Record<string, unknown>;
  const name = conceptText(r.code) ?? 'Result';
  const code = (r.code as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code ?? name;
  const date = dateOf(resource);
  const o = resource as unknown as Observation;
  const own = fromQuantity(name, code, o, date);
  if (own !== undefined) return [own];
  const out: LabValue[] = [];
  for (const c of (r.component as Record<string, unknown>[] | undefined) ?? []) {
    const cName = conceptText(c.code) ?? name;
    const cCode = (c.code as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code ?? cName;
    const v = fromQuantity(cName, cCode, c as Pick<Observation, 'valueQuantity'>, date);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Abnormal first: critical, then significantly high/low, then high/low/abnormal, then the rest (SDK urgency). */
export function abnormalFirst(a: LabValue, b: LabValue): number {
  return labFlagUrgency(a.flagCode) - labFlagUrgency(b.flagCode);
}

/** The range as words: "3.5 to 5.0 mmol/L", "below 200 mg/dL", or "no reference range given". */
export function rangeWords(v: LabValue): string {
  if (v.rangeSource === 'typical')
    return `${sourceRangeWords(v)} (typical adult range; the source gave none)`;
  return sourceRangeWords(v);
}

function sourceRangeWords(v: LabValue): string {
  if (v.low !== undefined && v.high !== undefined) return `${fmt(v.low)} to ${fmt(v.high)} ${v.unit}`.trim();
  if (v.high !== undefined) return `up to ${fmt(v.high)} ${v.unit}`.trim();
  if (v.low !== undefined) return `at least ${fmt(v.low)} ${v.unit}`.trim();
  return v.rangeText ?? 'no reference range given';
}

export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}

/** One sentence a screen reader and a patient can read: "Glucose 130 mg/dL, High (normal 70 to 99 mg/dL)". */
export function labSentence(v: LabValue): string {
  const flag = v.flag === 'No range' ? '' : `, ${v.flag}`;
  const range = v.flag === 'No range' ? ' (no reference range given)' : ` (normal ${rangeWords(v)})`;
  return `${v.name} ${fmt(v.value)} ${v.unit}`.trim() + flag + range;
}
