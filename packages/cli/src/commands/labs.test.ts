import { describe, expect, it } from 'vitest';
import { CliError } from '../io/CliError.ts';
import { labCodeKey } from './labs.ts';
import { typeFilter } from './timeline.ts';

describe('carekey labs / timeline options', () => {
  it('--code: a LOINC code with its check digit verified, or system|code; anything else a CliError', () => {
    expect(labCodeKey('2339-0')).toBe('http://loinc.org|2339-0');
    expect(labCodeKey('58410-2')).toBe('http://loinc.org|58410-2');
    expect(labCodeKey('http://example.org/lab|K-1')).toBe('http://example.org/lab|K-1');
    expect(() => labCodeKey('2339-1')).toThrow(/wrong LOINC check digit/u);
    expect(() => labCodeKey('12345')).toThrow(CliError);
    expect(() => labCodeKey('|x')).toThrow(/is not a LOINC code/u);
  });

  it('--type: a resource type, a category or a category code; a malformed one is a CliError', () => {
    const lab = { resourceType: 'Observation', category: 'Observation|laboratory' };
    const vital = { resourceType: 'Observation', category: 'Observation|vital-signs' };
    expect([lab, vital].filter(typeFilter('Observation') as never)).toEqual([lab, vital]);
    expect([lab, vital].filter(typeFilter('Observation|laboratory') as never)).toEqual([lab]);
    expect([lab, vital].filter(typeFilter('vital-signs') as never)).toEqual([vital]);
    expect(typeFilter(undefined)).toBeUndefined();
    expect(() => typeFilter('<script>')).toThrow(/is not a resource type or category/u);
  });
});
