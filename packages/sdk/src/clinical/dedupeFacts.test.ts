import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dedupeFacts } from './dedupeFacts.ts';
import { factKey } from './factKey.ts';
import type { Fact, SourcedResource } from './types.ts';

const synthea = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  '..',
  '..',
  'shared',
  'data',
  'synthea',
  'bundles',
);
const bundle = (name: string) =>
  (JSON.parse(readFileSync(join(synthea, name), 'utf8')) as Bundle).entry?.map(
    (e) => e.resource as Resource,
  ) ?? [];

/** The same instant written in three time zones; a date-only value is a different (less precise) fact. */
const TIMES = [
  ['2024-03-01T08:00:00Z', '2024-03-01T09:00:00+01:00', '2024-03-01T03:00:00.000-05:00'],
  ['2024-03-02T08:00:00Z'],
  ['2024-03-01'],
] as const;
const CODES = ['2339-0', '718-7'] as const;
const VALUES = [95, 96, 7.5] as const;
const UNITS = ['mg/dL', 'mmol/L'] as const;

type Draw = {
  code: number;
  value: number;
  unit: number;
  time: number;
  zone: number;
  custodian: number;
  record: number;
  id: number;
};
const draw = fc.record({
  code: fc.nat(CODES.length - 1),
  value: fc.nat(VALUES.length - 1),
  unit: fc.nat(UNITS.length - 1),
  time: fc.nat(TIMES.length - 1),
  zone: fc.nat(2),
  custodian: fc.nat(2),
  record: fc.nat(5),
  id: fc.nat(1000),
});

/** A lab Observation as two institutions would write it: ids, subjects and number spelling differ. */
function observation(d: Draw): SourcedResource {
  const times = TIMES[d.time] as readonly string[];
  const resource: Observation = {
    resourceType: 'Observation',
    id: `obs-${d.id}`,
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: CODES[d.code] as string }], text: `test ${d.id}` },
    subject: { reference: `Patient/p-${d.custodian}` },
    effectiveDateTime: times[d.zone % times.length] as string,
    valueQuantity: {
      value: VALUES[d.value] as number,
      unit: UNITS[d.unit] as string,
      system: 'http://unitsofmeasure.org',
      code: UNITS[d.unit] as string,
    },
  };
  // Record ids are unique per record: the same record id always carries the same content.
  return {
    resource,
    source: {
      custodian: `0xinstitution${d.custodian}`,
      recordId: `0x${d.custodian}${d.record}${canonical(d)}`,
    },
  };
}
const canonical = (d: Draw) => `${d.code}${d.value}${d.unit}${d.time}`;

/** What "same fact" means for these observations, computed without `factKey`. */
const meaning = (d: Draw) => `${CODES[d.code]}|${VALUES[d.value]}|${UNITS[d.unit]}|${d.time}`;

const flatten = (facts: Fact[]): SourcedResource[] =>
  facts.flatMap((f) => f.sources.map((source) => ({ resource: f.resource, source })));
const summary = (facts: Fact[]) => facts.map((f) => ({ key: f.key, sources: f.sources, id: f.resource.id }));

describe('dedupeFacts', () => {
  it('is idempotent: deduplicating the facts’ own records again gives the same facts', () => {
    fc.assert(
      fc.property(fc.array(draw, { maxLength: 40 }), (draws) => {
        const once = dedupeFacts(draws.map(observation));
        expect(summary(dedupeFacts(flatten(once)))).toEqual(summary(once));
        expect(summary(dedupeFacts([...draws.map(observation), ...draws.map(observation)]))).toEqual(
          summary(once),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the records', () => {
    fc.assert(
      fc.property(
        fc
          .array(draw, { maxLength: 40 })
          .chain((a) => fc.tuple(fc.constant(a), fc.shuffledSubarray(a, { minLength: a.length }))),
        ([a, b]) => {
          expect(summary(dedupeFacts(b.map(observation)))).toEqual(summary(dedupeFacts(a.map(observation))));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('merges exactly the records with the same code, value, unit and instant (never different ones)', () => {
    fc.assert(
      fc.property(fc.array(draw, { minLength: 1, maxLength: 40 }), (draws) => {
        const facts = dedupeFacts(draws.map(observation));
        expect(facts.length).toBe(new Set(draws.map(meaning)).size);
        for (const d of draws) {
          const item = observation(d);
          const fact = facts.find((f) => f.key === factKey(item.resource));
          expect(fact?.sources).toContainEqual(item.source);
          // every record of this fact means the same thing
          for (const other of draws) {
            if (
              fact?.sources.some(
                (s) =>
                  s.recordId === observation(other).source.recordId &&
                  s.custodian === observation(other).source.custodian,
              )
            )
              expect(meaning(other)).toBe(meaning(d));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the same Synthea patient published by two institutions: every fact once, with both sources', () => {
    const resources = bundle('Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json');
    const from = (custodian: string) =>
      resources.map((resource, i) => ({ resource, source: { custodian, recordId: `${custodian}-${i}` } }));
    const one = dedupeFacts(from('0xhospitalA'));
    const two = dedupeFacts([...from('0xhospitalA'), ...from('0xhospitalB')]);
    expect(two.map((f) => f.key)).toEqual(one.map((f) => f.key));
    for (const fact of two) {
      expect(new Set(fact.sources.map((s) => s.custodian))).toEqual(new Set(['0xhospitalA', '0xhospitalB']));
    }
    // Synthea repeats some facts inside one patient (e.g. a vital sign measured twice at one instant): fewer facts than records.
    expect(one.length).toBeLessThanOrEqual(resources.length);
  });

  it('keeps a second institution’s copy with another id, subject and time-zone spelling as the same fact', () => {
    const [a] = dedupeFacts([
      observation({ code: 0, value: 0, unit: 0, time: 0, zone: 0, custodian: 0, record: 0, id: 1 }),
      observation({ code: 0, value: 0, unit: 0, time: 0, zone: 1, custodian: 1, record: 0, id: 2 }),
    ]);
    expect(a?.sources.map((s) => s.custodian)).toEqual(['0xinstitution0', '0xinstitution1']);
    const apart = dedupeFacts([
      observation({ code: 0, value: 0, unit: 0, time: 0, zone: 0, custodian: 0, record: 0, id: 1 }),
      observation({ code: 0, value: 0, unit: 1, time: 0, zone: 0, custodian: 1, record: 0, id: 2 }),
    ]);
    expect(apart).toHaveLength(2);
  });
});
