import type { Bundle, Composition, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadR4Definitions } from '../fhir/loadR4Definitions.ts';
import { nodeR4DefinitionSources } from '../fhir/node/nodeR4DefinitionSources.ts';
import { validateFhir } from '../fhir/validateFhir.ts';
import { buildIpsDocument } from './buildIpsDocument.ts';
import { buildPatientIndex } from './buildPatientIndex.ts';
import { ClinicalError } from './ClinicalError.ts';
import { bundleResources, fromCustodian } from './testing/sharedData.ts';

beforeAll(async () => {
  await loadR4Definitions({ sources: nodeR4DefinitionSources });
}, 120_000);

const WENDELL = 'synthea/bundles/Wendell_Lesch_853767e6-14a5-400e-8b95-636f87701943.json';
const now = new Date('2026-11-25T12:00:00Z');

const sectionOf = (bundle: Bundle, code: string) =>
  (bundle.entry?.[0]?.resource as Composition | undefined)?.section?.find(
    (s) => s.code?.coding?.[0]?.code === code,
  );

function resolve(bundle: Bundle, reference: string | undefined): Resource | undefined {
  return bundle.entry?.find((e) => e.fullUrl === reference)?.resource;
}

describe('buildIpsDocument', () => {
  it('a Synthea patient from two institutions: a valid R4 document Bundle, sections resolve, sources named', async () => {
    const resources = bundleResources(WENDELL);
    const index = buildPatientIndex({
      records: [
        ...fromCustodian(resources, '0xhospital', 'Hospital A'),
        ...fromCustodian(
          resources.filter((r) => r.resourceType === 'Immunization'),
          '0xclinic',
          'Clinic B',
        ),
      ],
    });
    const ips = buildIpsDocument({ index, now });
    const { resources: validated } = await validateFhir({ input: ips });
    expect(validated.length).toBe(ips.entry?.length);
    expect(ips.type).toBe('document');
    expect(ips.timestamp).toBe(now.toISOString());
    const composition = ips.entry?.[0]?.resource as Composition;
    expect(composition.type.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '60591-5' });
    expect(resolve(ips, composition.subject?.reference)?.resourceType).toBe('Patient');
    for (const code of ['48765-2', '10160-0', '11450-4']) expect(sectionOf(ips, code)).toBeDefined();
    const results = sectionOf(ips, '30954-2');
    expect(results?.entry?.length).toBe(index.trends.length + index.imaging.length);
    const immunizations = sectionOf(ips, '11369-6');
    expect(immunizations?.entry?.length).toBe(index.immunizations.length);
    expect(immunizations?.text?.div).toContain('sources: Clinic B, Hospital A');
    for (const s of composition.section ?? []) {
      for (const e of s.entry ?? []) {
        const target = resolve(ips, e.reference);
        expect(target, e.reference).toBeDefined();
        const subject =
          (target as { subject?: { reference?: string }; patient?: { reference?: string } }) ?? {};
        expect((subject.subject ?? subject.patient)?.reference).toBe(composition.subject?.reference);
      }
    }
    // the same index and time give the same document
    expect(buildIpsDocument({ index, now })).toEqual(ips);
  });

  it('required sections with nothing to say carry emptyReason; an IPS example round-trips through the index', async () => {
    const index = buildPatientIndex({
      records: fromCustodian(bundleResources('ips/bundle-no-info-required-sections.json'), '0xgp', 'Dr. GP'),
    });
    const ips = buildIpsDocument({ index, now });
    await validateFhir({ input: ips });
    for (const code of ['48765-2', '10160-0', '11450-4']) {
      expect(sectionOf(ips, code)?.emptyReason?.coding?.[0]?.code).toBe('unavailable');
      expect(sectionOf(ips, code)?.entry).toBeUndefined();
    }
    expect(sectionOf(ips, '11369-6')?.entry).toHaveLength(2);

    const minimal = buildIpsDocument({
      index: buildPatientIndex({
        records: fromCustodian(bundleResources('ips/bundle-minimal.json'), '0xgp'),
      }),
      now,
    });
    await validateFhir({ input: minimal });
    const medication = resolve(minimal, sectionOf(minimal, '10160-0')?.entry?.[0]?.reference) as {
      medicationCodeableConcept?: { coding?: { code?: string }[] };
      medicationReference?: unknown;
    };
    expect(medication.medicationReference).toBeUndefined();
    expect(medication.medicationCodeableConcept?.coding?.[0]?.code).toBeDefined();
  });

  it('narrative text is escaped: markup in a record is shown, never interpreted (T-22)', async () => {
    const resources = bundleResources('ips/bundle-minimal.json').map((r) =>
      r.resourceType === 'Condition' ? { ...r, code: { text: '<img src=x onerror=alert(1)>' } } : r,
    );
    const ips = buildIpsDocument({
      index: buildPatientIndex({ records: fromCustodian(resources, '0xgp') }),
      now,
    });
    await validateFhir({ input: ips });
    const div = sectionOf(ips, '11450-4')?.text?.div ?? '';
    expect(div).not.toContain('<img');
    expect(div).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });

  it('refuses an index without a Patient record', () => {
    const index = buildPatientIndex({
      records: fromCustodian(
        bundleResources(WENDELL).filter((r) => r.resourceType !== 'Patient'),
        '0xhospital',
      ),
    });
    expect(() => buildIpsDocument({ index, now })).toThrow(ClinicalError);
    expect(() => buildIpsDocument({ index, now })).toThrow(/no Patient record/);
  });
});
