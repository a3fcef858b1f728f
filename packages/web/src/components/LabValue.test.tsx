// @vitest-environment happy-dom
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { abnormalFirst, labSentence, labValues } from '../lib/labs.ts';
import type { Resource } from '../lib/records.ts';
import { LabValueView, Trend } from './LabValue.tsx';

afterEach(cleanup);

function observation(
  value: number,
  range?: { low?: number; high?: number },
  interpretation?: string,
  date = '2024-03-01',
): Resource {
  return {
    resourceType: 'Observation',
    id: `o-${value}-${date}`,
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }], text: 'Glucose' },
    effectiveDateTime: date,
    valueQuantity: { value, unit: 'mg/dL' },
    ...(range
      ? {
          referenceRange: [
            {
              ...(range.low === undefined ? {} : { low: { value: range.low, unit: 'mg/dL' } }),
              ...(range.high === undefined ? {} : { high: { value: range.high, unit: 'mg/dL' } }),
            },
          ],
        }
      : {}),
    ...(interpretation ? { interpretation: [{ coding: [{ code: interpretation }] }] } : {}),
  };
}

describe('lab value display', () => {
  it('a high value reads without colour: value, unit, range, the word High, a number line', () => {
    const [value] = labValues(observation(130, { low: 70, high: 99 }));
    if (value === undefined) throw new Error('no value');
    render(<LabValueView value={value} />);
    expect(screen.getByText('Glucose')).toBeTruthy();
    expect(screen.getByText('130 mg/dL')).toBeTruthy();
    expect(screen.getByText('High')).toBeTruthy();
    expect(screen.getByText('Normal range: 70 to 99 mg/dL')).toBeTruthy();
    const line = screen.getByRole('img', { name: /Number line/u });
    expect(line.getAttribute('aria-label')).toBe(
      'Number line: Glucose 130 mg/dL, High (normal 70 to 99 mg/dL)',
    );
    // The dot sits right of the band's upper end.
    const band = line.querySelector('rect');
    const dot = line.querySelector('circle');
    expect(Number(dot?.getAttribute('cx'))).toBeGreaterThan(
      Number(band?.getAttribute('x')) + Number(band?.getAttribute('width')),
    );
  });

  it('low, normal, critical (from the interpretation code) and no range are each said in words', () => {
    const flag = (r: Resource) => labValues(r)[0]?.flag;
    expect(flag(observation(50, { low: 70, high: 99 }))).toBe('Low');
    expect(flag(observation(80, { low: 70, high: 99 }))).toBe('Normal');
    expect(flag(observation(80, { low: 70, high: 99 }, 'HH'))).toBe('Critical high');
    // HL7 v3 ObservationInterpretation: HU/LU are "significantly" high/low, not critical (the SDK's labFlag).
    expect(flag(observation(80, { low: 70, high: 99 }, 'HU'))).toBe('Significantly high');
    expect(flag(observation(80, { low: 70, high: 99 }, 'LU'))).toBe('Significantly low');
    expect(flag(observation(80, { low: 70, high: 99 }, 'AA'))).toBe('Critical abnormal');
    const order = [
      observation(120, { low: 70, high: 99 }),
      observation(80, { low: 70, high: 99 }, 'HU'),
      observation(80, { low: 70, high: 99 }),
      observation(80, { low: 70, high: 99 }, 'LL'),
    ]
      .flatMap(labValues)
      .sort(abnormalFirst)
      .map((v) => v.flag);
    expect(order).toEqual(['Critical low', 'Significantly high', 'High', 'Normal']);
    const unknownTest = (r: Resource): Resource => ({
      ...r,
      code: { coding: [{ code: '99999-9' }], text: 'Glucose' },
    });
    expect(flag(unknownTest(observation(80)))).toBe('No range');
    expect(flag(observation(80))).toBe('Normal'); // a typical range for glucose in mg/dL
    expect(flag(observation(120, { high: 99 }))).toBe('High');
    const [none] = labValues(unknownTest(observation(80)));
    if (none === undefined) throw new Error('no value');
    render(<LabValueView value={none} />);
    expect(screen.getByText('Normal range: no reference range given')).toBeTruthy();
    expect(screen.queryByRole('img')).toBeNull();
    expect(labSentence(none)).toBe('Glucose 80 mg/dL (no reference range given)');
  });

  it('blood pressure gives one value per component', () => {
    const bp: Resource = {
      resourceType: 'Observation',
      code: { text: 'Blood pressure panel' },
      effectiveDateTime: '2024-01-01',
      component: [
        {
          code: { text: 'Systolic' },
          valueQuantity: { value: 141, unit: 'mm[Hg]' },
          referenceRange: [{ high: { value: 120 } }],
        },
        { code: { text: 'Diastolic' }, valueQuantity: { value: 80, unit: 'mm[Hg]' } },
      ],
    };
    expect(labValues(bp).map((v) => `${v.name} ${v.value} ${v.flag}`)).toEqual([
      'Systolic 141 High',
      'Diastolic 80 No range',
    ]);
  });

  it('a trend shows every point with date and source, a reference band, and the same data as a table', () => {
    const points = [
      observation(90, { low: 70, high: 99 }, undefined, '2023-01-01'),
      observation(130, { low: 70, high: 99 }, undefined, '2024-01-01'),
      observation(105, { low: 70, high: 99 }, undefined, '2023-06-01'),
    ].map((r, i) => ({
      id: String(i),
      value: labValues(r)[0] as NonNullable<ReturnType<typeof labValues>[0]>,
      source: 'Mercy Hospital',
    }));
    render(<Trend name="Glucose" points={points} />);
    const chart = screen.getByRole('img', { name: /Chart of 3 Glucose results/u });
    expect(chart.querySelector('.trend-band')).toBeTruthy();
    expect([...chart.querySelectorAll('circle title')].map((t) => t.textContent)).toEqual([
      '1 Jan 2023: 90 mg/dL (Normal) — Mercy Hospital',
      '1 Jun 2023: 105 mg/dL (High) — Mercy Hospital',
      '1 Jan 2024: 130 mg/dL (High) — Mercy Hospital',
    ]);
    const table = screen.getByRole('table', { name: 'Glucose: every result' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.textContent)).toEqual([
      '1 Jan 202390 mg/dLNormal70 to 99 mg/dLMercy Hospital',
      '1 Jun 2023105 mg/dLHigh70 to 99 mg/dLMercy Hospital',
      '1 Jan 2024130 mg/dLHigh70 to 99 mg/dLMercy Hospital',
    ]);
  });
});

describe('typical ranges', () => {
  it('a result without a range of its own gets a typical adult range for its test and unit, said as such', () => {
    const cholesterol: Resource = {
      resourceType: 'Observation',
      code: { coding: [{ system: 'http://loinc.org', code: '2093-3', display: 'Total Cholesterol' }] },
      effectiveDateTime: '2018-09-17',
      valueQuantity: { value: 214.8, unit: 'mg/dL' },
    };
    const [v] = labValues(cholesterol);
    if (v === undefined) throw new Error('no value');
    expect(v.flag).toBe('High');
    render(<LabValueView value={v} />);
    expect(
      screen.getByText('Normal range: up to 199 mg/dL (typical adult range; the source gave none)'),
    ).toBeTruthy();
    // Another unit: no typical range is guessed.
    const [mmol] = labValues({ ...cholesterol, valueQuantity: { value: 5.5, unit: 'mmol/L' } });
    expect(mmol?.flag).toBe('No range');
  });
});
