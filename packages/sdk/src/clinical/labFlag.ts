import type { Observation, ObservationReferenceRange } from '@medplum/fhirtypes';
import { INTERPRETATION } from './codes.ts';

/** High/low flag of a lab result: critical high/low, high, low, normal, or abnormal (no direction). */
export type LabFlag = 'HH' | 'H' | 'N' | 'L' | 'LL' | 'A';

/** Where a flag came from: the lab's own interpretation, or our comparison of the value with the range. */
export type LabFlagSource = 'interpretation' | 'range';

/** HL7 v3 ObservationInterpretation codes (https://terminology.hl7.org/CodeSystem-v3-ObservationInterpretation.html). */
const FROM_INTERPRETATION: Record<string, LabFlag> = {
  HH: 'HH',
  HU: 'HH',
  H: 'H',
  '>': 'H',
  LL: 'LL',
  LU: 'LL',
  L: 'L',
  '<': 'L',
  N: 'N',
  A: 'A',
  AA: 'A',
  POS: 'A',
  DET: 'A',
  NEG: 'N',
  ND: 'N',
};

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
      const flag = FROM_INTERPRETATION[coding.code];
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
