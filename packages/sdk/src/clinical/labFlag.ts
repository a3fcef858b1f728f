import type { Observation, ObservationReferenceRange } from '@medplum/fhirtypes';
import { INTERPRETATION } from './codes.ts';

/**
 * Flag of a lab result, as an HL7 v3 ObservationInterpretation code
 * (https://terminology.hl7.org/CodeSystem-v3-ObservationInterpretation.html): critical high `HH`, significantly
 * high `HU`, high `H`, normal `N`, low `L`, significantly low `LU`, critical low `LL`, abnormal `A` (no direction),
 * critical abnormal `AA`. `HU`/`LU` are *not* critical: "significantly higher than the reference interval, but has
 * not reached the critically high value".
 */
export type LabFlag = 'HH' | 'HU' | 'H' | 'N' | 'L' | 'LU' | 'LL' | 'A' | 'AA';

/** The HL7 display name of each flag: the words a person reads ("Significantly high", never colour alone). */
export const LAB_FLAG_TEXT = {
  HH: 'Critical high',
  HU: 'Significantly high',
  H: 'High',
  N: 'Normal',
  L: 'Low',
  LU: 'Significantly low',
  LL: 'Critical low',
  A: 'Abnormal',
  AA: 'Critical abnormal',
} as const satisfies Record<LabFlag, string>;

/** The words of a flag (`LAB_FLAG_TEXT`). */
export type LabFlagText = (typeof LAB_FLAG_TEXT)[LabFlag];

/** How urgent a flag is, most urgent first: 0 critical (`HH` `LL` `AA`), 1 significant (`HU` `LU`), 2 out of range (`H` `L` `A`), 3 normal. */
export function labFlagUrgency(flag: LabFlag | undefined): 0 | 1 | 2 | 3 {
  switch (flag) {
    case 'HH':
    case 'LL':
    case 'AA':
      return 0;
    case 'HU':
    case 'LU':
      return 1;
    case 'H':
    case 'L':
    case 'A':
      return 2;
    default:
      return 3;
  }
}

/** Where a flag came from: the lab's own interpretation, or our comparison of the value with the range. */
export type LabFlagSource = 'interpretation' | 'range';

/**
 * HL7 v3 ObservationInterpretation codes (https://terminology.hl7.org/CodeSystem-v3-ObservationInterpretation.html)
 * and the flag each one means: the flags themselves, then off scale high/low (`>` `<`: above/below what the method
 * can measure) as high/low, and the presence findings of a qualitative test (positive/detected abnormal,
 * negative/not detected normal). Other codes (susceptibility, trends, expected/unexpected) give no flag.
 */
const FROM_INTERPRETATION: Record<string, LabFlag> = {
  HH: 'HH',
  HU: 'HU',
  H: 'H',
  '>': 'H',
  LL: 'LL',
  LU: 'LU',
  L: 'L',
  '<': 'L',
  N: 'N',
  A: 'A',
  AA: 'AA',
  POS: 'A',
  DET: 'A',
  NEG: 'N',
  ND: 'N',
};

/** The flag an ObservationInterpretation code means, or `undefined` for a code that is not a high/low/normal one. */
export function interpretationFlag(code: string): LabFlag | undefined {
  return Object.hasOwn(FROM_INTERPRETATION, code) ? FROM_INTERPRETATION[code] : undefined;
}

/** The reference range a result is judged by: the first one of type `normal`, else the first without a type. */
export function normalRange(o: Observation): ObservationReferenceRange | undefined {
  const ranges = o.referenceRange ?? [];
  return (
    ranges.find((r) => r.type?.coding?.some((c) => c.code === 'normal')) ??
    ranges.find((r) => r.type === undefined)
  );
}

/**
 * The flag of a lab result. The lab's coded interpretation wins (it knows age- and sex-specific ranges);
 * without one, the value is compared with the reference range: above `high` → `H`, below `low` → `L`, else `N`.
 * A bound whose unit (UCUM code, else text) differs from the value's is not used. `undefined` when neither
 * gives an answer (no interpretation, no usable range, or no numeric value).
 */
export function labFlag(o: Observation): { flag: LabFlag; from: LabFlagSource } | undefined {
  for (const concept of o.interpretation ?? []) {
    for (const coding of concept.coding ?? []) {
      if (coding.code === undefined) continue;
      if (
        coding.system !== undefined &&
        coding.system !== INTERPRETATION &&
        !coding.system.includes('v2-0078')
      )
        continue;
      const flag = interpretationFlag(coding.code);
      if (flag !== undefined) return { flag, from: 'interpretation' };
    }
  }
  const value = o.valueQuantity?.value;
  const range = normalRange(o);
  if (value === undefined || range === undefined) return undefined;
  const unit = o.valueQuantity?.code ?? o.valueQuantity?.unit;
  const usable = (bound: { value?: number; code?: string; unit?: string } | undefined) => {
    if (bound?.value === undefined) return undefined;
    const boundUnit = bound.code ?? bound.unit;
    return boundUnit === undefined || unit === undefined || boundUnit === unit ? bound.value : undefined;
  };
  const low = usable(range.low);
  const high = usable(range.high);
  if (low === undefined && high === undefined) return undefined;
  if (high !== undefined && value > high) return { flag: 'H', from: 'range' };
  if (low !== undefined && value < low) return { flag: 'L', from: 'range' };
  return { flag: 'N', from: 'range' };
}
