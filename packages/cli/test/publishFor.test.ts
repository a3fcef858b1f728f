import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { useCliTestBed } from './support/cliTestBed.ts';

const bed = useCliTestBed('publish-for');
const { root, as } = bed;
const run = bed.spawn;

const bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    {
      fullUrl: 'urn:uuid:8b0f4c2e-1d5a-4a8e-9c1e-0f6f3e6b2a11',
      resource: { resourceType: 'Patient', id: '8b0f4c2e-1d5a-4a8e-9c1e-0f6f3e6b2a11', gender: 'female' },
    },
    {
      fullUrl: 'urn:uuid:3c9d7a55-6e2b-4f0c-8a7d-2b1e9f4c6d22',
      resource: {
        resourceType: 'Observation',
        id: '3c9d7a55-6e2b-4f0c-8a7d-2b1e9f4c6d22',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }] },
        subject: { reference: 'urn:uuid:8b0f4c2e-1d5a-4a8e-9c1e-0f6f3e6b2a11' },
        valueQuantity: { value: 95, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
      },
    },
  ],
};

describe('carekey publish --for (a provider publishes for a patient)', () => {
  it('stanzas for the patient and the provider; the patient syncs, lists and reads them', async () => {
    const patient = jsonOf<{ address: string }>(
      await run('patient', 'init', '--json', '--scrypt-log-n', '15'),
    );
    jsonOf(await run('lab', 'init', '--json', '--scrypt-log-n', '15'));
    const file = join(root, 'labs.json');
    writeFileSync(file, JSON.stringify(bundle));

    const malformed = await run('lab', 'publish', '--for', 'did:ethr:0x7a69:0xnothex', file);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^carekey: malformed address 'did:ethr:0x7a69:0xnothex'[^\n]*\n$/u);
    expect(readdirSync(join(root, 'lab'))).not.toContain('records');

    const published = jsonOf<{ published: number; recordIds: string[] }>(
      await run('lab', 'publish', '--for', `did:ethr:0x7a69:${patient.address}`, file, '--json'),
    );
    expect(published.published).toBe(2);

    // the provider keeps read access to what it published
    const labCopy = await run('lab', 'get', published.recordIds[1] as string);
    expect(labCopy.stderr).toBe('');
    expect(JSON.parse(labCopy.stdout)).toMatchObject({ resourceType: 'Observation', status: 'final' });

    // the patient's gateway fetches them on its next sync
    const listed = jsonOf<{
      records: { recordId: string; resourceType: string; publisher: string }[];
      synced: { added: number };
    }>(await run('patient', 'ls', '--json'));
    expect(listed.synced.added).toBe(2);
    expect(listed.records.map((r) => r.resourceType).sort()).toEqual(['Observation', 'Patient']);
    const observation = listed.records.find((r) => r.resourceType === 'Observation');
    const read = await run('patient', 'get', observation?.recordId as string);
    expect(JSON.parse(read.stdout)).toMatchObject({ valueQuantity: { value: 95 } });

    // offline, the patient still reads its records
    const offline = await carekey(['get', observation?.recordId as string], {
      ...as('patient'),
      CAREKEY_NODE: 'http://127.0.0.1:9',
    });
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ resourceType: 'Observation' });
  }, 900_000);
});
