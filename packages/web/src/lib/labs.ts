import { conceptText, dateOf } from './fhirDisplay.ts';
import type { Resource } from './records.ts';

export type LabFlag = 'High' | 'Low' | 'Critical high' | 'Critical low' | 'Abnormal' | 'Normal' | 'No range';

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
  date?: string;
};

type Quantity = { value?: unknown; unit?: unknown; code?: unknown };
type Range = { low?: Quantity; high?: Quantity; text?: unknown };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const INTERPRETATION: Record<string, LabFlag> = {
  H: 'High',
  HU: 'High',
  L: 'Low',
  LU: 'Low',
  HH: 'Critical high',
  LL: 'Critical low',
  A: 'Abnormal',
  AA: 'Abnormal',
  N: 'Normal',
};

function flagOf(
  value: number,
  low: number | undefined,
  high: number | undefined,
  interpretation: string | undefined,
): LabFlag {
  if (interpretation !== undefined && INTERPRETATION[interpretation] !== undefined) {
    return INTERPRETATION[interpretation] as LabFlag;
  }
  if (low === undefined && high === undefined) return 'No range';
  if (high !== undefined && value > high) return 'High';
  if (low !== undefined && value < low) return 'Low';
  return 'Normal';
}

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

function fromQuantity(
  name: string,
  code: string,
  quantity: Quantity | undefined,
  range: Range | undefined,
  interpretation: string | undefined,
  date: string | undefined,
): LabValue | undefined {
  const value = num(quantity?.value);
  if (value === undefined) return undefined;
  let low = num(range?.low?.value);
  let high = num(range?.high?.value);
  const unit =
    typeof quantity?.unit === 'string'
      ? quantity.unit
      : typeof quantity?.code === 'string'
        ? quantity.code
        : '';
  let rangeSource: LabValue['rangeSource'] = 'source';
  const typical = TYPICAL_RANGES[code];
  if (low === undefined && high === undefined && range?.text === undefined && typical?.unit === unit) {
    low = typical.low;
    high = typical.high;
    rangeSource = 'typical';
  }
  return {
    rangeSource,
    name,
    code,
    value,
    unit,
    ...(low === undefined ? {} : { low }),
    ...(high === undefined ? {} : { high }),
    ...(typeof range?.text === 'string' ? { rangeText: range.text } : {}),
    flag: flagOf(value, low, high, interpretation),
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
  const interpretation = (r.interpretation as { coding?: { code?: string }[] }[] | undefined)?.[0]
    ?.coding?.[0]?.code;
  const own = fromQuantity(
    name,
    code,
    r.valueQuantity as Quantity | undefined,
    (r.referenceRange as Range[] | undefined)?.[0],
    interpretation,
    date,
  );
  if (own !== undefined) return [own];
  const out: LabValue[] = [];
  for (const c of (r.component as Record<string, unknown>[] | undefined) ?? []) {
    const cName = conceptText(c.code) ?? name;
    const cCode = (c.code as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code ?? cName;
    const cInterp = (c.interpretation as { coding?: { code?: string }[] }[] | undefined)?.[0]?.coding?.[0]
      ?.code;
    const v = fromQuantity(
      cName,
      cCode,
      c.valueQuantity as Quantity | undefined,
      (c.referenceRange as Range[] | undefined)?.[0],
      cInterp,
      date,
    );
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Abnormal first (critical, then high/low/abnormal), then the rest. */
export function abnormalFirst(a: LabValue, b: LabValue): number {
  const rank = (f: LabFlag) =>
    f.startsWith('Critical') ? 0 : f === 'High' || f === 'Low' || f === 'Abnormal' ? 1 : 2;
  return rank(a.flag) - rank(b.flag);
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
