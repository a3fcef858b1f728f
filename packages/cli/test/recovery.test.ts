import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { patientObservationBundle } from './support/bundles.ts';
import { jsonOf } from './support/carekeyBin.ts';
import { guardianArgs, oneLine, useCliTestBed } from './support/cliTestBed.ts';

// In process (the binary's pass is in stolenPhone.test.ts): the same commands, errors and exit codes, far less CPU.
const { root, run, init } = useCliTestBed('recovery');
const bundle = patientObservationBundle();

type Ls = { records: { recordId: string; resourceType: string }[] };

describe('social recovery with guardians (T-17, T-18)', () => {
  it('T-17 T-18: a lost phone: two of three guardians help, the patient reads every record on a new device', async () => {
    const patient = await init('patient');
    const [g1, g2, g3] = [await init('g1'), await init('g2'), await init('g3')];
    await init('outsider');
    const setup = (guardians: string[], threshold: number, ...more: string[]) =>
      run('patient', 'guardians', 'setup', ...guardianArgs(guardians, threshold), ...more);
    writeFileSync(join(root, 'b.json'), JSON.stringify(bundle));
    jsonOf(await run('patient', 'import', join(root, 'b.json'), '--json'));
    const before = jsonOf<Ls>(await run('patient', 'ls', '--json')).records;
    expect(before.length).toBe(2);

    // Bad set-ups change nothing.
    const alone = await setup([g1.address], 1);
    expect(alone.code).toBe(1);
    oneLine(alone.stderr);
    const self = await setup([g1.address, patient.address], 2);
    expect(self.stderr).toContain('your own guardian');
    const tooMany = await setup([g1.address, g2.address], 3);
    expect(tooMany.stderr).toContain('threshold must be 2 to 2');
    const noKey = await setup([g1.address, `0x${'12'.repeat(20)}`], 2);
    expect(noKey.code).toBe(1);
    oneLine(noKey.stderr);
    expect(existsSync(join(root, 'patient', 'recovery', 'guardians.json'))).toBe(false);

    const set = jsonOf<{ threshold: number; guardians: { address: string; file: string }[] }>(
      await setup([g1.address, g2.address, g3.address], 2, '--json'),
    );
    expect(set.threshold).toBe(2);
    const fileOf = (address: string) => set.guardians.find((g) => g.address === address)?.file as string;
    // The patient's phrase is not in any share file in clear.
    for (const g of set.guardians)
      expect(readFileSync(g.file, 'utf8')).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/u);

    // A share kept by the wrong person is refused; each guardian keeps their own.
    const wrong = await run('outsider', 'guardian', 'keep', fileOf(g1.address), '--for', patient.address);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('not a recovery share sealed to you');
    for (const [who, g] of [
      ['g1', g1],
      ['g2', g2],
      ['g3', g3],
    ] as const) {
      jsonOf(await run(who, 'guardian', 'keep', fileOf(g.address), '--for', patient.address, '--json'));
    }

    // The phone is lost: the whole home folder is gone.
    rmSync(join(root, 'patient'), { recursive: true, force: true });
    const { recipient } = jsonOf<{ recipient: string }>(await run('patient', 'recover', 'start', '--json'));
    expect(recipient).toMatch(/^age1/u);
    const release = (who: string, out: string) =>
      run(
        who,
        'guardian',
        'release',
        '--for',
        patient.address,
        '--to',
        recipient,
        '--out',
        join(root, out),
        '--json',
      );
    jsonOf(await release('g1', 's1.age'));
    jsonOf(await release('g3', 's3.age'));
    // Someone who is not a guardian has nothing to release.
    const stranger = await release('outsider', 'sx.age');
    expect(stranger.stderr).toContain('you keep no recovery share');
    const badKey = await run(
      'g2',
      'guardian',
      'release',
      '--for',
      patient.address,
      '--to',
      'age1nope',
      '--out',
      join(root, 'x'),
    );
    expect(badKey.stderr).toContain('is not an age X25519 recipient');

    // One guardian alone is not enough, and nothing is created.
    const one = await run('patient', 'recover', 'finish', join(root, 's1.age'), '--scrypt-log-n', '15');
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('1 share given; 2 are needed');
    expect(existsSync(join(root, 'patient', 'wallet.age'))).toBe(false);
    // A damaged share file is named.
    const text = readFileSync(join(root, 's3.age'), 'utf8').split('\n');
    text[2] = `${text[2]?.[0] === 'A' ? 'B' : 'A'}${text[2]?.slice(1)}`;
    writeFileSync(join(root, 's3-damaged.age'), text.join('\n'));
    const damaged = await run(
      'patient',
      'recover',
      'finish',
      join(root, 's1.age'),
      join(root, 's3-damaged.age'),
    );
    expect(damaged.stderr).toContain(
      's3-damaged.age is not a share sealed to this device, or it was damaged',
    );

    const back = jsonOf<{ address: string; sharesUsed: number[] }>(
      await run(
        'patient',
        'recover',
        'finish',
        join(root, 's1.age'),
        join(root, 's3.age'),
        '--scrypt-log-n',
        '15',
        '--json',
      ),
    );
    expect(back.address).toBe(patient.address);
    expect(back.sharesUsed).toEqual([1, 3]);
    const after = jsonOf<Ls>(await run('patient', 'ls', '--json')).records;
    expect(after.map((r) => r.recordId).sort()).toEqual(before.map((r) => r.recordId).sort());
    for (const r of after) {
      const got = await run('patient', 'get', r.recordId);
      expect(got.code, got.stderr).toBe(0);
    }
    const observation = after.find((r) => r.resourceType === 'Observation');
    expect((await run('patient', 'get', observation?.recordId as string)).stdout).toContain('haemoglobin');
    // The one-time device key is gone once used.
    expect(existsSync(join(root, 'patient', 'recovery', 'device-identity.txt'))).toBe(false);
  }, 600_000);
});
