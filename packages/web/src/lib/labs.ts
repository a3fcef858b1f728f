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
  const low = num(range?.low?.value);
  const high = num(range?.high?.value);
  const unit =
    typeof quantity?.unit === 'string'
      ? quantity.unit
      : typeof quantity?.code === 'string'
        ? quantity.code
        : '';
  return {
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
