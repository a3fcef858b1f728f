import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonOf } from './support/carekeyBin.ts';
import { oneLine, useCliTestBed } from './support/cliTestBed.ts';

// shared/ lies beside the repository (locally and in CI).
const SYNTHEA = join(
  import.meta.dirname,
  '../../../../shared/data/synthea/bundles/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json',
);
const bed = useCliTestBed('lifecycle');
const { root } = bed;
const run = bed.spawn;

type Record_ = { recordId: string; resourceType: string; category: string; fhirId: string };

describe('carekey record lifecycle against a real node', () => {
  let patient: { address: string; ageRecipient: string };
  let doctor: { address: string };
  let records: Record_[];

  it('init publishes the X25519 key on the DID; whoami shows the DID', async () => {
    patient = jsonOf(await run('patient', 'init', '--json', '--scrypt-log-n', '15'));
    expect(patient).toMatchObject({ didKey: { published: true } });
    doctor = jsonOf(await run('doctor', 'init', '--json', '--scrypt-log-n', '15'));
    const who = jsonOf<{ did: string }>(await run('patient', 'whoami', '--json'));
    expect(who.did).toBe(`did:ethr:0x7a69:${patient.address}`);
  }, 300_000);

  it('import refuses malformed JSON, non-FHIR and invalid FHIR in one line each, changing nothing (T-19)', async () => {
    const bad = {
      'malformed.json': '{"resourceType": "Patient", ',
      'not-fhir.json': '{"hello": "world"}',
      'invalid.json': JSON.stringify({ resourceType: 'Patient', id: 'p', gender: 'sometimes' }),
    };
    for (const [name, text] of Object.entries(bad)) {
      writeFileSync(join(root, name), text);
      const r = await run('patient', 'import', join(root, name));
      expect(r.code, name).toBe(1);
      oneLine(r.stderr);
    }
    expect(readdirSync(join(root, 'patient'))).not.toContain('records');
  }, 300_000);

  it('imports a Synthea patient as one batch; ls lists it; get decrypts a record', async () => {
    const imported = jsonOf<{ imported: number; batches: unknown[] }>(
      await run('patient', 'import', SYNTHEA, '--json'),
    );
    const bundle = JSON.parse(readFileSync(SYNTHEA, 'utf8')) as {
      entry: { resource: { resourceType: string; id: string } }[];
    };
    expect(imported.imported).toBe(bundle.entry.length);
    expect(imported.batches).toHaveLength(1);
    records = jsonOf<{ records: Record_[] }>(await run('patient', 'ls', '--json')).records;
    expect(records).toHaveLength(bundle.entry.length);
    const patientRecord = records.find((r) => r.resourceType === 'Patient') as Record_;
    const got = await run('patient', 'get', patientRecord.recordId.slice(0, 12));
    expect(got.code).toBe(0);
    const resource = JSON.parse(got.stdout) as { resourceType: string; id: string };
    expect(resource).toMatchObject({ resourceType: 'Patient', id: patientRecord.fhirId });

    const unknown = await run('patient', 'get', `0x${'ab'.repeat(32)}`);
    expect(unknown.code).toBe(1);
    oneLine(unknown.stderr);
  }, 600_000);

  let grantId: string;
  it('shares one record; the doctor reads it; the audit shows the release (R-17)', async () => {
    const target = records.find((r) => r.resourceType === 'Patient') as Record_;
    const malformed = await run('patient', 'share', target.recordId, '--with', '0x1234');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^carekey: malformed address '0x1234'/u);

    const shared = jsonOf<{ grantId: string | null; recordIds: string[] }>(
      await run(
        'patient',
        'share',
        target.recordId,
        '--with',
        doctor.address,
        '--purpose',
        'TREAT',
        '--expires',
        '1h',
        '--json',
      ),
    );
    expect(shared.recordIds).toEqual([target.recordId]);
    const grants = jsonOf<{ grants: { grantId: string; grantee: string; state: string }[] }>(
      await run('patient', 'grants', '--json'),
    ).grants;
    const grant = grants.find((g) => g.grantee.toLowerCase() === doctor.address.toLowerCase());
    expect(grant).toBeDefined();
    grantId = grant?.grantId as string;

    // the grant counts after its confirmation: retry briefly (T-5)
    let read = await run('doctor', 'get', target.recordId);
    for (let i = 0; i < 10 && read.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 1500));
      read = await run('doctor', 'get', target.recordId);
    }
    expect(read.stderr).toBe('');
    expect(JSON.parse(read.stdout)).toMatchObject({ resourceType: 'Patient', id: target.fhirId });

    const audit = jsonOf<{ entries: { action: string; actor: string; outcome: string }[] }>(
      await run('patient', 'audit', '--json'),
    );
    expect(
      audit.entries.some(
        (e) => e.action === 'release' && e.actor.toLowerCase() === doctor.address.toLowerCase(),
      ),
    ).toBe(true);
  }, 600_000);

  it('revoke: the doctor is refused in plain words (T-4)', async () => {
    const target = records.find((r) => r.resourceType === 'Patient') as Record_;
    const revoked = await run('patient', 'revoke', grantId);
    expect(revoked.code).toBe(0);
    const again = await run('doctor', 'get', target.recordId);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^carekey: .*revoked/u);
    oneLine(again.stderr);
  }, 300_000);

  it('forget shreds a record: gone locally and on the node; export opens the rest with the age CLI (R-11, R-15)', async () => {
    const victim = records.find((r) => r.resourceType === 'Observation') as Record_;
    const forgot = jsonOf<{ records: { state: string }[] }>(
      await run('patient', 'forget', victim.recordId, '--json'),
    );
    expect(['pending_shred', 'shredded']).toContain(forgot.records[0]?.state);
    const after = await run('patient', 'get', victim.recordId);
    expect(after.code).toBe(1);
    oneLine(after.stderr);

    const out = join(root, 'export');
    const exported = jsonOf<{ records: number }>(await run('patient', 'export', out, '--json'));
    expect(exported.records).toBe(records.length - 1);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      records: { file: string; fhirId: string }[];
    };
    for (const entry of index.records.slice(0, 5)) {
      const age = spawnSync('/usr/bin/age', ['-d', '-i', join(out, 'identity.txt'), join(out, entry.file)], {
        encoding: 'utf8',
      });
      expect(age.status).toBe(0);
      expect(JSON.parse(age.stdout).id).toBe(entry.fhirId);
    }
  }, 300_000);
});
