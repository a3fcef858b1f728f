import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestDicom } from '../../sdk/src/fhir/node/testing/writeDicom.ts';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { startTestNode, type TestNode } from './support/startTestNode.ts';

const PASS = 'a long passphrase';
const root = mkdtempSync(join(tmpdir(), 'carekey-import-sources-'));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const ips = join(repoRoot, '../shared/data/ips/bundle-minimal.json');
const ccda = join(repoRoot, 'packages/sdk/src/fhir/testdata/ccda/CCDA_Functional_Status_v1.xml');
let node: TestNode;
let patient: { address: string };
let lab: { address: string };
beforeAll(async () => {
  node = await startTestNode();
  [patient, lab] = await Promise.all([
    run('patient', 'init', '--json', '--scrypt-log-n', '15').then(jsonOf<{ address: string }>),
    run('lab', 'init', '--json', '--scrypt-log-n', '15').then(jsonOf<{ address: string }>),
  ]);
}, 240_000);
afterAll(async () => {
  await node?.stop();
  rmSync(root, { recursive: true, force: true });
});
function run(who: string, ...args: string[]) {
  return carekey(args, { CAREKEY_HOME: join(root, who), CAREKEY_PASSPHRASE: PASS, CAREKEY_NODE: node.url });
}
const did = (address: string) => `did:ethr:0x7a69:${address}`;
async function recordsOnNode(): Promise<number> {
  const { rows } = await node.node.sql.query<{ n: bigint | number }>('select count(*) as n from records');
  return Number(rows[0]?.n ?? 0);
}
type Imported = {
  format: string;
  imported: number;
  recordIds: string[];
  resourceTypes: Record<string, number>;
};

describe('carekey import from real sources (FHIR JSON, C-CDA, DICOM, PDF)', () => {
  it('imports an HL7 IPS document Bundle and a C-CDA (malformed C-CDA: importBadInput.test.ts)', async () => {
    const fromIps = jsonOf<Imported>(await run('patient', 'import', ips, '--json'));
    expect(fromIps).toMatchObject({ format: 'fhir-json', imported: 8 });

    const fromCcda = jsonOf<Imported & { repairs: string[] }>(await run('patient', 'import', ccda, '--json'));
    expect(fromCcda).toMatchObject({ format: 'ccda', imported: 7 });
    expect(fromCcda.resourceTypes).toEqual({
      Observation: 3,
      Composition: 1,
      Organization: 1,
      Patient: 1,
      Practitioner: 1,
    });
    expect(fromCcda.repairs.length).toBeGreaterThan(0);
    expect(await recordsOnNode()).toBe(15);
  }, 300_000);

  it('T-19 refuses bad input in one line and publishes nothing', async () => {
    const before = await recordsOnNode();
    const fake = join(root, 'scan-fake.dcm');
    writeFileSync(fake, '{"resourceType":"Patient"}');
    const badDate = join(root, 'bad-date.json');
    writeFileSync(
      badDate,
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: { resourceType: 'Patient', id: 'p1' } },
          {
            resource: {
              resourceType: 'Observation',
              id: 'o1',
              status: 'final',
              code: { text: 'x' },
              effectiveDateTime: '2026-02-30',
            },
          },
        ],
      }),
    );
    const cases: [string, RegExp][] = [
      [fake, /^carekey: scan-fake\.dcm is not a DICOM file: no "DICM" marker at byte 128/u],
      [
        badDate,
        /^carekey: invalid FHIR R4: Observation\/o1 \(entry 1\): impossible date(Time)? "2026-02-30".* at Bundle\.entry\[1\]\.resource\.effectiveDateTime/u,
      ],
    ];
    for (const [file, message] of cases) {
      const refused = await run('patient', 'import', file);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr.trim().split('\n').at(-1)).toMatch(message);
    }
    expect(await recordsOnNode()).toBe(before);
  }, 300_000);

  it('imports a multi-MB DICOM and a PDF as file + describing resource; get returns the same bytes', async () => {
    const scan = join(root, 'scan.dcm');
    await writeTestDicom(scan, { pixelBytes: 6 * 1024 * 1024 });
    const imported = jsonOf<Imported>(await run('patient', 'import', scan, '--json'));
    expect(imported).toMatchObject({
      format: 'dicom',
      imported: 2,
      resourceTypes: { ImagingStudy: 1, Binary: 1 },
    });
    const [studyId, fileId] = imported.recordIds as [string, string];
    const study = JSON.parse((await run('patient', 'get', studyId)).stdout);
    expect(study).toMatchObject({
      resourceType: 'ImagingStudy',
      started: '2024-03-05',
      modality: [{ code: 'CT' }],
      series: [{ bodySite: { code: 'CHEST' } }],
      meta: { source: did(patient.address) },
    });
    expect(study.extension[0].valueAttachment.url).toBe(`urn:carekey:record:${fileId}`);
    const out = join(root, 'scan-back.dcm');
    jsonOf(await run('patient', 'get', fileId, '-o', out, '--json'));
    expect(readFileSync(out).equals(readFileSync(scan))).toBe(true);

    const pdf = await PDFDocument.create();
    pdf.setTitle('Radiology report');
    pdf.addPage();
    const report = join(root, 'report.pdf');
    writeFileSync(report, await pdf.save());
    const fromPdf = jsonOf<Imported>(await run('patient', 'import', report, '--json'));
    expect(fromPdf.resourceTypes).toEqual({ Binary: 1, DocumentReference: 1 });
  }, 300_000);

  it('a provider publishes a DICOM for the patient; the patient syncs and reads the file (custodian: the lab)', async () => {
    const scan = join(root, 'lab-scan.dcm');
    await writeTestDicom(scan, {
      pixelBytes: 2 * 1024 * 1024,
      attributes: { modality: 'MR', bodyPartExamined: 'HEAD' },
    });
    const published = jsonOf<{ published: number; recordIds: string[] }>(
      await run('lab', 'publish', '--for', did(patient.address), scan, '--json'),
    );
    expect(published.published).toBe(2);
    const listed = jsonOf<{ records: { recordId: string; resourceType: string; category: string }[] }>(
      await run('patient', 'ls', '--json'),
    );
    const file = listed.records.find((r) => r.recordId === published.recordIds[1]);
    expect(file).toMatchObject({ resourceType: 'Binary', category: 'Binary|application/dicom' });
    const out = join(root, 'lab-scan-back.dcm');
    jsonOf(await run('patient', 'get', published.recordIds[1] as string, '-o', out, '--json'));
    expect(readFileSync(out).equals(readFileSync(scan))).toBe(true);
    const study = JSON.parse((await run('patient', 'get', published.recordIds[0] as string)).stdout);
    expect(study).toMatchObject({ modality: [{ code: 'MR' }], meta: { source: did(lab.address) } });
    expect(readdirSync(join(root, 'lab'))).toContain('records');
  }, 300_000);
});
