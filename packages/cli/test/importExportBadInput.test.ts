import '@carekey/sdk/crypto/node';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '@carekey/sdk/fhir';
import { afterAll, describe, expect, it } from 'vitest';
import { readImportExport } from '../src/commands/gatewayImportExport.ts';

// `readImportExport` is everything `carekey import-export` does before it opens the wallet and sends a byte: a
// refusal here means nothing was published (the round trip on two real nodes: bulkExport.test.ts).
const root = mkdtempSync(join(tmpdir(), 'carekey-import-export-bad-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const CT = join(import.meta.dirname, '../../sdk/src/fhir/testdata/files/CT_small.dcm');
let n = 0;

/** A folder holding one NDJSON file per entry of `files` (lines as given), and a fresh work folder. */
function exportFolder(files: Record<string, string[]>) {
  const folder = join(root, `export-${n++}`);
  mkdirSync(folder);
  for (const [type, lines] of Object.entries(files))
    writeFileSync(join(folder, `${type}.ndjson`), `${lines.join('\n')}\n`);
  const workDir = mkdtempSync(join(root, 'work-'));
  return { folder, workDir };
}
const line = (resource: unknown) => canonicalJson(resource as never);
const observation = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'glucose' } };
const RECORD = 'ab'.repeat(32);
const document = (attachment: Record<string, unknown>) => ({
  resourceType: 'DocumentReference',
  id: 'd1',
  status: 'current',
  content: [{ attachment: { url: `urn:carekey:record:0x${RECORD}`, ...attachment } }],
});
const binary = (bytes: Uint8Array, contentType: string) =>
  line({ resourceType: 'Binary', id: RECORD, contentType, data: Buffer.from(bytes).toString('base64') });

describe('carekey import-export: T-19 bad input in an export is refused with a clear error, nothing imported', () => {
  it.each([
    [
      'a wrong type',
      { Observation: [line({ ...observation, status: 42 })] },
      /^Observation\.ndjson line 1: invalid FHIR R4: Observation\/o1: .* at Observation\.status .*; nothing was imported$/u,
    ],
    [
      'a missing required element',
      {
        Observation: [
          line(observation),
          line({ resourceType: 'Observation', id: 'o2', code: { text: 'x' } }),
        ],
      },
      /^Observation\.ndjson line 2: .*Observation\/o2: Missing required property at Observation\.status/u,
    ],
    [
      'an unknown resource type',
      { Spaceship: [line({ resourceType: 'Spaceship', id: 's1' })] },
      /^Spaceship\.ndjson line 1: .*unknown resourceType "Spaceship" at Spaceship\.resourceType/u,
    ],
    [
      'a broken reference',
      {
        Observation: [
          line({ ...observation, subject: { reference: 'urn:uuid:0b7c1e43-5a8a-4d5e-9f3e-1c2d3e4f5a6b' } }),
        ],
      },
      /^Observation\.ndjson line 1: .*urn:uuid:0b7c1e43-5a8a-4d5e-9f3e-1c2d3e4f5a6b.* at Observation\.subject\.reference/u,
    ],
    [
      'an impossible date',
      { Observation: [line({ ...observation, effectiveDateTime: '2026-02-30' })] },
      /^Observation\.ndjson line 1: .*impossible dateTime "2026-02-30".* at Observation\.effectiveDateTime/u,
    ],
    [
      'duplicate resource ids',
      { Observation: [line(observation), line(observation)] },
      /^Observation\.ndjson line 2: Observation\/o1 appears twice in the export$/u,
    ],
    [
      'a __proto__ key',
      { Patient: ['{"resourceType":"Patient","id":"p1","__proto__":{"admin":true}}'] },
      /^Patient\.ndjson line 1: not FHIR JSON \(.*forbidden key/u,
    ],
    [
      'JSON nested 10,000 deep',
      { Basic: [`{"resourceType":"Basic","id":"b1","a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`] },
      /^Basic\.ndjson line 1: not FHIR JSON \(invalid FHIR JSON: nesting deeper than 64 levels/u,
    ],
    [
      'a Bundle of 50,000 entries as one resource',
      {
        Bundle: [
          line({
            resourceType: 'Bundle',
            id: 'big',
            type: 'collection',
            entry: Array.from({ length: 50_000 }, (_, i) => ({
              resource: { resourceType: 'Basic', id: `b${i}`, code: { text: 'x' } },
            })),
          }),
        ],
      },
      /^Bundle\.ndjson line 1: .*has 50000 entries, over the limit of 10000/u,
    ],
    [
      'a line that is not JSON',
      { Patient: ['{"resourceType":"Patient",'] },
      /^Patient\.ndjson line 1: not FHIR JSON/u,
    ],
    [
      'a resource without an id',
      { Patient: [line({ resourceType: 'Patient' })] },
      /^Patient\.ndjson line 1: a resource needs a resourceType and an id$/u,
    ],
    [
      'non-DICOM data sent as a DICOM file',
      {
        DocumentReference: [line(document({ contentType: 'application/dicom', size: 5 }))],
        Binary: [binary(new TextEncoder().encode('hello'), 'application/dicom')],
      },
      /^Binary\.ndjson line 1 \(Binary\/(ab){32}\): its bytes are application\/octet-stream, not application\/dicom; nothing was imported$/u,
    ],
    [
      'a file whose size is not its describing resource’s',
      {
        DocumentReference: [line(document({ contentType: 'application/dicom', size: 10 }))],
        Binary: [binary(readFileSync(CT), 'application/dicom')],
      },
      /^Binary\.ndjson line 1 \(Binary\/(ab){32}\): 39206 bytes, but DocumentReference\/d1 says 10/u,
    ],
    [
      'file data that is not base64',
      {
        Binary: [`{"contentType":"application/pdf","data":"%PDF","id":"${RECORD}","resourceType":"Binary"}`],
      },
      /^Binary\.ndjson line 1: its data is not base64 /u,
    ],
  ])(
    'refuses %s, naming the file and line',
    async (_what, files, message) => {
      const { folder, workDir } = exportFolder(files);
      const error = await readImportExport({ folder, workDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
    },
    60_000,
  );

  it('validates every chunk before publishing any: a fault in the last chunk refuses the whole export', async () => {
    const good = Array.from({ length: 5 }, (_, i) => line({ ...observation, id: `o${i}` }));
    const { folder, workDir } = exportFolder({
      Observation: [...good, line({ ...observation, id: 'o9', status: 'done' })],
    });
    await expect(readImportExport({ folder, workDir, chunk: 2 })).rejects.toThrow(
      /^Observation\.ndjson line 6: .*Observation\/o9: .*"done".* at Observation\.status/u,
    );
    const fine = exportFolder({ Observation: good });
    expect((await readImportExport({ ...fine, chunk: 2 })).records.map((r) => r.id)).toEqual([
      'o0',
      'o1',
      'o2',
      'o3',
      'o4',
    ]);
  });

  it('T-22 keeps an XSS payload in a narrative div as data, byte for byte (same hash as exported)', async () => {
    const div =
      '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script><img src="x" onerror="alert(2)"/></div>';
    const resource = { ...observation, text: { status: 'generated', div } };
    const { folder, workDir } = exportFolder({ Observation: [line(resource)] });
    const read = await readImportExport({ folder, workDir });
    expect((read.records[0]?.resource as unknown as { text?: { div: string } })?.text?.div).toBe(div);
    expect(read.records[0]?.canonicalJson).toBe(line(resource));
    expect(readdirSync(folder)).toEqual(['Observation.ndjson']);
  });
});
