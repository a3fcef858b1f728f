import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonOf } from './support/carekeyBin.ts';
import { oneLine, useCliTestBed } from './support/cliTestBed.ts';

// In process: the same commands, errors and exit codes as the binary (its pass is in readmeWalkthrough.test.ts).
const bed = useCliTestBed('sharing');
const { root, run, init } = bed;

const P = '0d1e2f30-4152-4637-8899-aabbccddeeff';
const bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { fullUrl: `urn:uuid:${P}`, resource: { resourceType: 'Patient', id: P, gender: 'male' } },
    ...[1, 2].map((n) => ({
      fullUrl: `urn:uuid:5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b${n}`,
      resource: {
        resourceType: 'Observation',
        id: `5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b${n}`,
        status: 'final',
        code: { text: `test ${n}` },
        subject: { reference: `urn:uuid:${P}` },
      },
    })),
  ],
};

async function retry(who: string, args: string[]) {
  let r = await run(who, ...args);
  for (let i = 0; i < 10 && r.code !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    r = await run(who, ...args);
  }
  return r;
}

describe('carekey share by category and for all, expiry by chain time', () => {
  it('a category grant opens that category only (R-16); an expired grant is refused in plain words (T-3)', async () => {
    await init('patient');
    const doctor = await init('doctor');
    const nurse = await init('nurse');
    writeFileSync(join(root, 'b.json'), JSON.stringify(bundle));
    jsonOf(await run('patient', 'import', join(root, 'b.json'), '--json'));
    const { records } = jsonOf<{ records: { recordId: string; resourceType: string }[] }>(
      await run('patient', 'ls', '--json', '--offline'),
    );
    const patientRecord = records.find((r) => r.resourceType === 'Patient')?.recordId as string;
    const observations = records.filter((r) => r.resourceType === 'Observation').map((r) => r.recordId);

    const noCategory = await run('patient', 'share', '--category', 'Condition', '--with', doctor.address);
    expect(noCategory.code).toBe(1);
    oneLine(noCategory.stderr);

    const shared = jsonOf<{ scope: string; recordIds: string[] }>(
      await run('patient', 'share', '--category', 'Observation', '--with', doctor.address, '--json'),
    );
    expect(shared.scope).toBe('categories');
    expect(shared.recordIds.sort()).toEqual([...observations].sort());

    const obs = await retry('doctor', ['get', observations[0] as string]);
    expect(obs.stderr).toBe('');
    expect(JSON.parse(obs.stdout)).toMatchObject({ resourceType: 'Observation' });
    const listed = jsonOf<{ shared: { recordIds: string[] }[] }>(
      await run('doctor', 'ls', '--shared-with-me', '--json'),
    );
    expect(listed.shared.flatMap((g) => g.recordIds).sort()).toEqual([...observations].sort());
    const outside = await run('doctor', 'get', patientRecord);
    expect(outside.code).toBe(1);
    oneLine(outside.stderr);

    jsonOf(await run('patient', 'share', '--all', '--with', nurse.address, '--expires', '1h', '--json'));
    const before = await retry('nurse', ['get', patientRecord]);
    expect(JSON.parse(before.stdout)).toMatchObject({ resourceType: 'Patient', id: P });
    // two hours of chain time later
    await bed.advanceChainTime(7200);
    const expired = await run('nurse', 'get', patientRecord);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/^carekey: grant 0x[0-9a-f]{64} expired at .*no longer gives access\n$/u);
  }, 900_000);
});
