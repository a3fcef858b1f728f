import type { Observation, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { clinicalDate } from '../fhir/clinicalDate.ts';
import { buildPatientIndex, factDate } from './buildPatientIndex.ts';
import { timeOf } from './clinicalTime.ts';
import { bundleResources, fromCustodian, syntheaFiles } from './testing/sharedData.ts';

const WENDELL = 'synthea/bundles/Wendell_Lesch_853767e6-14a5-400e-8b95-636f87701943.json';
const FLETCHER = 'synthea/bundles/Fletcher_Hyatt_fe0562b5-f517-4951-8366-32fdab088930.json';

const isLab = (r: Resource): r is Observation =>
  r.resourceType === 'Observation' &&
  (r.category ?? []).some((c) => c.coding?.some((x) => x.code === 'laboratory'));

describe('buildPatientIndex', () => {
  it('every Synthea patient: sections hold what the records say, the timeline is in clinical-date order', () => {
    for (const file of syntheaFiles()) {
      const resources = bundleResources(`synthea/bundles/${file}`);
      const index = buildPatientIndex({ records: fromCustodian(resources, '0xhospital') });
      expect(index.recordCount).toBe(resources.length);
      expect(index.patients).toHaveLength(1);
      // labs: one per distinct (code, instant, value, unit) among laboratory Observations
      const labs = resources.filter(isLab);
      const distinct = new Set(
        labs.map(
          (o) =>
            `${o.code.coding?.[0]?.code}|${Date.parse(o.effectiveDateTime ?? '')}|${o.valueQuantity?.value}|${o.valueQuantity?.code}|${o.valueCodeableConcept?.coding?.[0]?.code}`,
        ),
      );
      expect(index.labs.length, file).toBe(distinct.size);
      expect(index.trends.reduce((n, t) => n + t.results.length, 0)).toBe(index.labs.length);
      expect(index.trends.length).toBe(new Set(labs.map((o) => o.code.coding?.[0]?.code)).size);
      for (const trend of index.trends) {
        const times = trend.results.map((r) => timeOf(r.date) ?? 0);
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }
      // timeline: dated, clinical (no billing), oldest first; the import date plays no part
      const times = index.timeline.map((e) => timeOf(e.date) ?? Number.NaN);
      expect(times.every((t) => !Number.isNaN(t))).toBe(true);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(
        index.timeline.some((e) => e.resourceType === 'Claim' || e.resourceType === 'ExplanationOfBenefit'),
      ).toBe(false);
      const dated = resources.filter(
        (r) => factDate(r) !== undefined && !['Claim', 'ExplanationOfBenefit'].includes(r.resourceType),
      );
      expect(index.timeline.length).toBeLessThanOrEqual(dated.length);
      expect(index.timeline.length).toBeGreaterThan(dated.length * 0.6);
      // problems: the Conditions with their status
      const conditions = resources.filter((r) => r.resourceType === 'Condition');
      expect(index.problems.length).toBeLessThanOrEqual(conditions.length);
      for (const p of index.problems) {
        expect(p.status).toBe(
          p.resource.clinicalStatus?.coding?.[0]?.code === 'active' ? 'active' : 'resolved',
        );
      }
      expect(index.immunizations.length).toBeLessThanOrEqual(
        resources.filter((r) => r.resourceType === 'Immunization').length,
      );
      expect(index.imaging.length).toBe(resources.filter((r) => r.resourceType === 'ImagingStudy').length);
      for (const fact of [...index.timeline, ...index.labs, ...index.problems]) {
        expect(fact.sources.length).toBeGreaterThan(0);
        expect(
          fact.sources.every((s) => s.custodian === '0xhospital' && s.recordId.startsWith('0xhospital-')),
        ).toBe(true);
      }
    }
  });

  it('a lab result reported by two institutions appears once with both sources; trends per LOINC code', () => {
    const hospital = bundleResources(WENDELL);
    const index0 = buildPatientIndex({ records: fromCustodian(hospital, '0xhospital', 'Hospital A') });
    const lab = index0.labs[0];
    if (lab === undefined) throw new Error('no lab');
    // The lab's own copy: another id, another subject reference, the same instant in another time zone, 1 decimal.
    const copy: Observation = {
      ...lab.resource,
      id: 'lab-copy-1',
      subject: { reference: 'Patient/lab-42' },
      effectiveDateTime: new Date(Date.parse(lab.resource.effectiveDateTime ?? '')).toISOString(),
    };
    const index = buildPatientIndex({
      records: [
        ...fromCustodian(hospital, '0xhospital', 'Hospital A'),
        ...fromCustodian([copy], '0xlab', 'City Lab'),
      ],
    });
    expect(index.labs).toHaveLength(index0.labs.length);
    const merged = index.labs.find((l) => l.key === lab.key);
    expect(merged?.sources.map((s) => s.custodianName)).toEqual(['Hospital A', 'City Lab']);
    expect(merged?.value).toBe(lab.value);
    // a different value from the lab is another fact
    const other = {
      ...copy,
      id: 'lab-copy-2',
      valueQuantity: { ...copy.valueQuantity, value: (copy.valueQuantity?.value ?? 0) + 1 },
    };
    const index2 = buildPatientIndex({
      records: [...fromCustodian(hospital, '0xhospital'), ...fromCustodian([other], '0xlab')],
    });
    expect(index2.labs).toHaveLength(index0.labs.length + 1);

    const trend = index.trends.find((t) => t.key === `http://loinc.org|${lab.code.code}`);
    expect(trend?.results.length).toBeGreaterThan(1);
    const [before, last] = (trend?.results ?? []).slice(-2);
    if (typeof before?.value === 'number' && typeof last?.value === 'number') {
      expect(trend?.direction).toBe(
        last.value > before.value ? 'up' : last.value < before.value ? 'down' : 'same',
      );
    }
    expect(index.labs.map((l) => timeOf(l.date))).toEqual(
      index.labs.map((l) => timeOf(l.date)).sort((a, b) => (b ?? 0) - (a ?? 0)),
    );
  });

  it('imaging: modality, body site and date of each ImagingStudy (Synthea)', () => {
    const index = buildPatientIndex({ records: fromCustodian(bundleResources(FLETCHER), '0xhospital') });
    expect(index.imaging.length).toBe(5);
    for (const study of index.imaging) {
      expect(study.modalities.length).toBeGreaterThan(0);
      expect(study.modalities[0]?.system).toBe('http://dicom.nema.org/resources/ontology/DCM');
      expect(study.bodySites.length).toBeGreaterThan(0);
      expect(study.date).toBe(study.resource.started);
      expect(index.timeline.some((e) => e.key === study.key)).toBe(true);
    }
  });

  it('IPS examples: a medication named through a Medication resource, allergies, immunisations', () => {
    const minimal = buildPatientIndex({
      records: fromCustodian(bundleResources('ips/bundle-minimal.json'), '0xgp'),
    });
    expect(minimal.medications).toHaveLength(1);
    expect(minimal.medications[0]?.code.display).not.toBe('(unnamed medication)');
    expect(minimal.medications[0]?.code.code).toBeDefined();
    expect(minimal.allergies).toHaveLength(1);
    expect(minimal.problems).toHaveLength(1);
    const immunized = buildPatientIndex({
      records: fromCustodian(bundleResources('ips/bundle-no-info-required-sections.json'), '0xgp'),
    });
    expect(immunized.immunizations).toHaveLength(2);
    for (const i of immunized.immunizations) expect(i.date).toBe(clinicalDate(i.resource));
  });

  it('the same input in any order gives the same index', () => {
    const records = fromCustodian(bundleResources(WENDELL), '0xhospital');
    const reversed = [...records].reverse();
    const keys = (r: typeof records) => {
      const i = buildPatientIndex({ records: r });
      return [i.timeline, i.labs, i.problems, i.medications, i.immunizations].map((s) => s.map((f) => f.key));
    };
    expect(keys(reversed)).toEqual(keys(records));
  });
});
