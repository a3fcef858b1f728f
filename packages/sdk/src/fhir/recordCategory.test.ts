import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { clinicalDate } from './clinicalDate.ts';
import { recordCategory } from './recordCategory.ts';

const r = (resource: Record<string, unknown>) => resource as unknown as Resource;

describe('recordCategory', () => {
  it.each([
    [{ resourceType: 'Patient' }, 'Patient'],
    [
      { resourceType: 'Observation', category: [{ coding: [{ code: 'vital-signs' }] }] },
      'Observation|vital-signs',
    ],
    [
      { resourceType: 'Observation', category: [{ text: 'no code' }, { coding: [{ code: 'laboratory' }] }] },
      'Observation',
    ],
    [
      {
        resourceType: 'Condition',
        category: [{ coding: [{ display: 'x' }, { code: 'problem-list-item' }] }],
      },
      'Condition|problem-list-item',
    ],
    [
      { resourceType: 'AllergyIntolerance', category: ['medication', 'food'] },
      'AllergyIntolerance|medication',
    ],
    [{ resourceType: 'Procedure', category: { coding: [{ code: '387713003' }] } }, 'Procedure|387713003'],
    [{ resourceType: 'DocumentReference', category: [] }, 'DocumentReference'],
  ])('%j → %s', (resource, category) => {
    expect(recordCategory(r(resource))).toBe(category);
  });
});

describe('clinicalDate', () => {
  it.each([
    [
      { resourceType: 'Observation', effectiveDateTime: '2020-01-02', issued: '2020-01-03T00:00:00Z' },
      '2020-01-02',
    ],
    [
      { resourceType: 'Observation', effectivePeriod: { start: '2020-01-01T08:00:00+01:00' } },
      '2020-01-01T08:00:00+01:00',
    ],
    [
      { resourceType: 'Observation', effectiveInstant: '2020-01-01T08:00:00.123Z' },
      '2020-01-01T08:00:00.123Z',
    ],
    [{ resourceType: 'Observation', effectiveTiming: { event: ['2019-05'] } }, '2019-05'],
    [{ resourceType: 'Observation', issued: '2020-01-03T00:00:00Z' }, '2020-01-03T00:00:00Z'],
    [{ resourceType: 'Condition', onsetDateTime: '1999', recordedDate: '2001' }, '1999'],
    [{ resourceType: 'Condition', onsetString: 'childhood', recordedDate: '2001' }, '2001'],
    [{ resourceType: 'Procedure', performedPeriod: { start: '2010-10-10' } }, '2010-10-10'],
    [{ resourceType: 'Immunization', occurrenceDateTime: '2011-11-11' }, '2011-11-11'],
    [{ resourceType: 'Encounter', period: { start: '2012-12-12', end: '2012-12-13' } }, '2012-12-12'],
    [{ resourceType: 'Composition', date: '2013-01-01' }, '2013-01-01'],
    [{ resourceType: 'MedicationRequest', authoredOn: '2014-01-01' }, '2014-01-01'],
    [{ resourceType: 'Claim', billablePeriod: { start: '2015-01-01' }, created: '2015-02-01' }, '2015-01-01'],
    [{ resourceType: 'Patient', birthDate: '1950-01-01' }, undefined],
  ])('%j → %s', (resource, date) => {
    expect(clinicalDate(r(resource))).toBe(date);
  });
});
