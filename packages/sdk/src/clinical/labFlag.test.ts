import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { labFlag } from './labFlag.ts';

const glucose = (value: number, extra: Partial<Observation> = {}): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
  valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  referenceRange: [
    { low: { value: 70, unit: 'mg/dL', code: 'mg/dL' }, high: { value: 99, unit: 'mg/dL', code: 'mg/dL' } },
  ],
  ...extra,
});
const interpretation = (code: string) => [
  { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code }] },
];

describe('labFlag', () => {
  it('compares the value with the reference range: above high H, below low L, inside (bounds included) N', () => {
    expect(labFlag(glucose(130))).toEqual({ flag: 'H', from: 'range' });
    expect(labFlag(glucose(55))).toEqual({ flag: 'L', from: 'range' });
    expect(labFlag(glucose(99))).toEqual({ flag: 'N', from: 'range' });
    expect(labFlag(glucose(70))).toEqual({ flag: 'N', from: 'range' });
  });

  it('the lab’s coded interpretation wins over the range', () => {
    expect(labFlag(glucose(95, { interpretation: interpretation('H') }))).toEqual({
      flag: 'H',
      from: 'interpretation',
    });
    expect(labFlag(glucose(300, { interpretation: interpretation('HH') }))).toEqual({
      flag: 'HH',
      from: 'interpretation',
    });
    expect(labFlag(glucose(20, { interpretation: interpretation('LL') }))).toEqual({
      flag: 'LL',
      from: 'interpretation',
    });
  });

  it('a one-sided range still flags; a bound in another unit is not used; no range, no flag', () => {
    expect(
      labFlag(glucose(6, { referenceRange: [{ high: { value: 5.6, code: 'mmol/L' } }] })),
    ).toBeUndefined();
    expect(labFlag(glucose(130, { referenceRange: [{ high: { value: 99, code: 'mg/dL' } }] }))).toEqual({
      flag: 'H',
      from: 'range',
    });
    expect(labFlag(glucose(130, { referenceRange: [] }))).toBeUndefined();
    const { valueQuantity: _v, ...noValue } = glucose(1);
    expect(labFlag({ ...noValue, valueString: 'see report' })).toBeUndefined();
  });

  it('uses the range of type normal when there are several', () => {
    const ranges = [
      { type: { coding: [{ code: 'treatment' }] }, high: { value: 200, code: 'mg/dL' } },
      { type: { coding: [{ code: 'normal' }] }, high: { value: 99, code: 'mg/dL' } },
    ];
    expect(labFlag(glucose(150, { referenceRange: ranges }))).toEqual({ flag: 'H', from: 'range' });
  });
});
