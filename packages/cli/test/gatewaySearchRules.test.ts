import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSmartScopes, scopesFor } from '../src/gateway/auth/smartScopes.ts';
import { fhirDateRange, matchesDate, parseDateCriterion } from '../src/gateway/store/fhirDates.ts';

const day = (s: string) => fhirDateRange(s) as { start: number; end: number };

describe('FHIR date search rules (R4 search.html#date)', () => {
  it('a value covers the interval of its precision; impossible dates are refused', () => {
    expect(fhirDateRange('2020')).toEqual({ start: Date.UTC(2020, 0, 1), end: Date.UTC(2021, 0, 1) });
    expect(fhirDateRange('2020-02')).toEqual({ start: Date.UTC(2020, 1, 1), end: Date.UTC(2020, 2, 1) });
    expect(fhirDateRange('2020-02-29')?.end).toBe(Date.UTC(2020, 2, 1));
    expect(fhirDateRange('2012-09-10T15:29:24+02:00')?.start).toBe(Date.UTC(2012, 8, 10, 13, 29, 24));
    for (const bad of [
      '2021-02-29',
      '2020-13',
      '2020-00-10',
      '20201',
      '2020-01-01T25:00:00Z',
      'yesterday',
      '',
    ]) {
      expect(fhirDateRange(bad)).toBeUndefined();
    }
  });

  it('prefixes compare intervals: eq within, ge/le overlap, gt/lt beyond, sa/eb strictly after/before, ne not within', () => {
    const at = (v: string, target: string) => matchesDate(day(target), parseDateCriterion(v) as never);
    expect(at('2012', '2012-09-10T15:29:24Z')).toBe(true);
    expect(at('2012-09-10', '2012-09-10T15:29:24Z')).toBe(true);
    expect(at('ne2012', '2012-09-10')).toBe(false);
    expect(at('ge2015', '2012-09-10')).toBe(false);
    expect(at('le2012-09-10', '2012-09-10T23:00:00Z')).toBe(true);
    expect(at('lt2012-09-10', '2012-09-10T00:00:00Z')).toBe(false);
    expect(at('gt2012', '2013-01-01')).toBe(true);
    expect(at('sa2012', '2012-12-31')).toBe(false);
    expect(at('eb2013', '2012-12-31')).toBe(true);
    expect(parseDateCriterion('ge2021-02-30')).toBeUndefined();
  });

  it('property: ge and lt split every date in two; le and gt likewise', () => {
    const date = fc
      .date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(date, date, (value, target) => {
        const r = day(target);
        const ge = matchesDate(r, parseDateCriterion(`ge${value}`) as never);
        const lt = matchesDate(r, parseDateCriterion(`lt${value}`) as never);
        const le = matchesDate(r, parseDateCriterion(`le${value}`) as never);
        const gt = matchesDate(r, parseDateCriterion(`gt${value}`) as never);
        return ge !== lt && le !== gt;
      }),
      { numRuns: 1000 },
    );
  });
});

describe('SMART scopes', () => {
  it('parses v2 and v1 scopes, granular category, ignores launch/OpenID; refuses malformed ones', () => {
    const scopes = parseSmartScopes(
      'openid fhirUser launch/patient patient/Observation.rs?category=laboratory user/*.read system/Condition.s',
    );
    expect(scopes.map((s) => [s.context, s.resourceType, s.read, s.search, s.category])).toEqual([
      ['patient', 'Observation', true, true, 'laboratory'],
      ['user', '*', true, true, undefined],
      ['system', 'Condition', false, true, undefined],
    ]);
    expect(scopesFor(scopes, 'Condition', 'read').map((s) => s.text)).toEqual(['user/*.read']);
    for (const bad of [
      'patient/Observation',
      'doctor/*.rs',
      'user/observation.rs',
      'user/*.rx',
      'user/*.rs?code=1',
      '*',
    ]) {
      expect(() => parseSmartScopes(bad)).toThrow(/scope/u);
    }
  });
});
