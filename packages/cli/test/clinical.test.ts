import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { useCliTestBed } from './support/cliTestBed.ts';

const SYNTHEA = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'synthea', 'bundles');
const PATIENT_FILE = join(SYNTHEA, 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json');
const bed = useCliTestBed('clinical');
const { root, as } = bed;
const run = bed.spawn;

type LabsJson = {
  tests: {
    code: { code: string; display: string };
    direction: string | null;
    results: {
      date: string;
      value: number;
      unit: string;
      flag: string | null;
      sources: { custodian: string; custodianName?: string; recordId: string }[];
    }[];
  }[];
};

// The lab result the lab publishes again: the first laboratory Observation of the patient's Synthea record.
const synthea = JSON.parse(readFileSync(PATIENT_FILE, 'utf8')) as Bundle;
const original = synthea.entry
  ?.map((e) => e.resource)
  .find(
    (r): r is Observation =>
      r?.resourceType === 'Observation' && r.category?.[0]?.coding?.[0]?.code === 'laboratory',
  ) as Observation;
const loinc = original.code.coding?.[0]?.code as string;
const sameCode = (synthea.entry ?? []).filter(
  (e) => e.resource?.resourceType === 'Observation' && e.resource.code.coding?.[0]?.code === loinc,
).length;

describe('carekey timeline / labs / summary (patient index over a real node)', () => {
  it('a lab result published again by a lab shows once with two sources; timeline, summary, bad input', async () => {
    const patient = jsonOf<{ address: string }>(
      await run('patient', 'init', '--json', '--scrypt-log-n', '15'),
    );
    const lab = jsonOf<{ address: string }>(await run('lab', 'init', '--json', '--scrypt-log-n', '15'));
    const imported = jsonOf<{ imported: number }>(await run('patient', 'import', PATIENT_FILE, '--json'));
    expect(imported.imported).toBe(synthea.entry?.length);

    // The lab's copy: its own id and patient reference, the same test, instant (another time-zone spelling), value, unit.
    const { encounter: _e, ...rest } = original;
    const copy: Observation = {
      ...rest,
      id: 'lab-result-1',
      subject: { reference: 'Patient/lab-patient-1' },
      effectiveDateTime: new Date(Date.parse(original.effectiveDateTime as string)).toISOString(),
    };
    const labFile = join(root, 'lab-result.json');
    writeFileSync(
      labFile,
      JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: copy }] }),
    );
    const published = jsonOf<{ published: number }>(
      await run('lab', 'publish', '--for', patient.address, labFile, '--json'),
    );
    expect(published.published).toBe(1);

    const labsRun = await carekey(['labs', '--code', loinc, '--json'], {
      ...as('patient'),
      CAREKEY_PROGRESS: '1',
    });
    expect(labsRun.stderr).toContain('indexing');
    const labs = jsonOf<LabsJson>(labsRun);
    expect(labs.tests).toHaveLength(1);
    const results = labs.tests[0]?.results ?? [];
    expect(results).toHaveLength(sameCode); // not one more: the lab's copy is the same fact
    const shared = results.find(
      (r) => Date.parse(r.date) === Date.parse(original.effectiveDateTime as string),
    );
    expect(shared?.value).toBe(original.valueQuantity?.value);
    expect(shared?.unit).toBe(original.valueQuantity?.unit);
    // custodian: the publisher (as meta.source, a did:ethr DID, or its address)
    const addressOf = (c: string) => c.toLowerCase().split(':').pop();
    expect(shared?.sources.map((s) => addressOf(s.custodian)).sort()).toEqual(
      [patient.address, lab.address].map((a) => a.toLowerCase()).sort(),
    );
    expect(
      shared?.sources.find((s) => addressOf(s.custodian) === patient.address.toLowerCase())?.custodianName,
    ).toBe('you');
    for (const r of results.filter((x) => x !== shared)) expect(r.sources).toHaveLength(1);
    const dates = results.map((r) => Date.parse(r.date));
    expect(dates).toEqual([...dates].sort((a, b) => a - b));

    // human output: one line per result, the shared one naming both sources
    const text = await run('patient', 'labs', '--code', loinc, '--offline');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toContain(`(${loinc})`);
    const short = `${lab.address.slice(0, 6)}…${lab.address.slice(-4)}`.toLowerCase();
    expect(text.stdout.toLowerCase()).toMatch(new RegExp(`\\((you, ${short}|${short}, you)\\)`, 'u'));

    // timeline: clinical dates, filtered by type and dates
    const year = (original.effectiveDateTime as string).slice(0, 4);
    const timeline = jsonOf<{
      entries: { date: string; resourceType: string; category: string; sources: unknown[] }[];
    }>(
      await run(
        'patient',
        'timeline',
        '--type',
        'Observation|laboratory',
        '--from',
        year,
        '--to',
        year,
        '--offline',
        '--json',
      ),
    );
    expect(timeline.entries.length).toBeGreaterThan(0);
    expect(
      timeline.entries.every((e) => e.category === 'Observation|laboratory' && e.date.startsWith(year)),
    ).toBe(true);
    const times = timeline.entries.map((e) => Date.parse(e.date));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(timeline.entries.some((e) => e.sources.length === 2)).toBe(true);

    // summary: a valid IPS document (validated before writing)
    const out = join(root, 'ips.json');
    const summary = jsonOf<{ entries: number; sections: { title: string; entries: number }[] }>(
      await run('patient', 'summary', '--out', out, '--offline', '--json'),
    );
    const ips = JSON.parse(readFileSync(out, 'utf8')) as Bundle;
    expect(ips.type).toBe('document');
    expect(ips.entry?.[0]?.resource?.resourceType).toBe('Composition');
    expect(summary.entries).toBe(ips.entry?.length);
    expect(summary.sections.map((s) => s.title)).toEqual(
      expect.arrayContaining([
        'Allergies and Intolerances',
        'Medication Summary',
        'Active Problems',
        'Results',
      ]),
    );

    // bad input: one line, exit 1, nothing written
    const badCode = await run('patient', 'labs', '--code', '12345');
    expect(badCode.code).toBe(1);
    expect(badCode.stderr).toMatch(/^carekey: --code "12345" is not a LOINC code[^\n]*\n$/u);
    const badPatient = await run(
      'patient',
      'summary',
      '--patient',
      '0xnothex',
      '--out',
      join(root, 'never.json'),
    );
    expect(badPatient.code).toBe(1);
    expect(badPatient.stderr).toMatch(/^carekey: malformed address '0xnothex'/u);
    expect(() => readFileSync(join(root, 'never.json'))).toThrow();
    // a grantee with nothing shared has no patient summary to make
    const empty = await run('lab', 'summary', '--patient', patient.address, '--offline');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/^carekey: no Patient record among the records/u);
  }, 900_000);
});
