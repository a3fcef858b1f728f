import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImport } from '../src/commands/publishFhir.ts';

// `readImport` is everything `carekey import` / `publish --for` does before the first byte goes to the node:
// a refusal here means nothing was uploaded or published (importSources.test.ts checks it on a real node).
const dir = mkdtempSync(join(tmpdir(), 'carekey-import-bad-'));
const workDir = mkdtempSync(join(tmpdir(), 'carekey-import-bad-work-'));
const CUSTODIAN = 'did:ethr:0x7a69:0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const bundle = (...resources: unknown[]) =>
  JSON.stringify({
    resourceType: 'Bundle',
    type: 'collection',
    entry: resources.map((resource) => ({ resource })),
  });
const observation = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'glucose' } };

describe('carekey import: T-19 bad input is refused with a clear error before anything is sent', () => {
  it.each([
    [
      'a wrong type',
      file('wrong-type.json', bundle({ ...observation, status: 42 })),
      /^invalid FHIR R4: Observation\/o1 \(entry 0\): .* at Bundle\.entry\[0\]\.resource\.status/u,
    ],
    [
      'a missing required element',
      file('missing.json', bundle({ resourceType: 'Observation', id: 'o2', code: { text: 'x' } })),
      /Observation\/o2 \(entry 0\): Missing required property at Bundle\.entry\[0\]\.resource\.status/u,
    ],
    [
      'an unknown resource type',
      file('unknown.json', bundle({ resourceType: 'Spaceship', id: 's1' })),
      /Spaceship/u,
    ],
    [
      'a broken reference',
      file(
        'broken-ref.json',
        bundle({ ...observation, subject: { reference: 'urn:uuid:0b7c1e43-5a8a-4d5e-9f3e-1c2d3e4f5a6b' } }),
      ),
      /urn:uuid:0b7c1e43-5a8a-4d5e-9f3e-1c2d3e4f5a6b.*at Bundle\.entry\[0\]\.resource\.subject\.reference/u,
    ],
    [
      'an impossible date',
      file('date.json', bundle({ ...observation, effectiveDateTime: '2026-02-30' })),
      /impossible dateTime "2026-02-30".* at Bundle\.entry\[0\]\.resource\.effectiveDateTime/u,
    ],
    [
      'duplicate resource ids',
      file('dup.json', bundle(observation, observation)),
      /Observation\/o1 appears twice, in entries 0 and 1/u,
    ],
    [
      'a __proto__ key',
      file('proto.json', '{"resourceType":"Patient","__proto__":{"admin":true}}'),
      /forbidden key/u,
    ],
    [
      'JSON nested 10,000 deep',
      file('deep.json', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
      /too deep|nest/iu,
    ],
    [
      'a Bundle of 50,000 entries',
      file(
        'huge.json',
        bundle(
          ...Array.from({ length: 50_000 }, (_, i) => ({
            resourceType: 'Basic',
            id: `b${i}`,
            code: { text: 'x' },
          })),
        ),
      ),
      /has 50000 entries, over the limit of 10000/u,
    ],
    [
      'non-DICOM data named .dcm',
      file('scan.dcm', '{"resourceType":"Patient"}'),
      /^scan\.dcm is not a DICOM file/u,
    ],
    ['a text file named .pdf', file('report.pdf', 'hello'), /^report\.pdf is not a PDF file/u],
    ['malformed C-CDA', file('cda.xml', '<ClinicalDocument><recordTarget>'), /not well-formed XML/u],
    ['an absent file', join(dir, 'nope.json'), /^cannot read .*nope\.json/u],
  ])(
    'refuses %s',
    async (_what, path, message) => {
      const error = await readImport({ file: path, custodian: CUSTODIAN, workDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
      expect(readdirSync(workDir)).toEqual([]); // no payload left behind
    },
    60_000,
  );

  it('T-22 keeps an XSS payload in a narrative div as data, byte for byte (rendering is the portal’s job)', async () => {
    const div =
      '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script><img src="x" onerror="alert(2)"/></div>';
    const path = file('xss.json', JSON.stringify({ ...observation, text: { status: 'generated', div } }));
    const { items } = await readImport({ file: path, custodian: CUSTODIAN, workDir });
    const stored = JSON.parse(new TextDecoder().decode((items[0] as { plaintext: Uint8Array }).plaintext));
    expect(stored.text.div).toBe(div);
    expect(stored.meta.source).toBe(CUSTODIAN);
  });
});

describe('carekey import: FHIR XML', () => {
  it('reads an HL7 IPS XML example as FHIR R4 (not as C-CDA): 20 records, custodian on each', async () => {
    const xml = join(import.meta.dirname, '../../../../shared/data/ips/IPS-bundle-01.xml');
    const { items, format } = await readImport({ file: xml, custodian: CUSTODIAN, workDir });
    expect(format).toBe('fhir-xml');
    expect(items).toHaveLength(20);
    const first = JSON.parse(new TextDecoder().decode((items[0] as { plaintext: Uint8Array }).plaintext));
    expect(first).toMatchObject({ resourceType: 'Composition', meta: { source: CUSTODIAN } });
    expect(readdirSync(workDir)).toEqual([]);
  }, 60_000);
});
