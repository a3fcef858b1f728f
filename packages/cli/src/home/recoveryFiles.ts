import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../io/CliError.ts';
import type { CarekeyHome } from './carekeyHome.ts';
import { writeFileAtomic } from './writeFileAtomic.ts';

/**
 * Files of social recovery in a Carekey home (`<home>/recovery/`):
 * - `guardians.json` (a patient's current share set: who holds a share, k of n, set root; no secret);
 * - `shares-epoch-<n>/<guardian>.share.age` (a patient's sealed shares, each readable only by its guardian);
 * - `held/<patient>.share.age` (a guardian's kept share for a patient, still sealed to the guardian);
 * - `device-identity.txt` (a new device's one-time age identity while it collects shares; mode 0600).
 */
export function recoveryFiles(home: CarekeyHome) {
  const dir = join(home.dir, 'recovery');
  return {
    dir,
    guardiansFile: join(dir, 'guardians.json'),
    sharesDir: (epoch: number) => join(dir, `shares-epoch-${epoch}`),
    heldFile: (patient: string) => join(dir, 'held', `${patient.toLowerCase()}.share.age`),
    deviceIdentityFile: join(dir, 'device-identity.txt'),
  };
}

/** What a patient's home records of its current share set. */
export type GuardianSet = {
  setId: string;
  setRoot: `0x${string}`;
  epoch: number;
  threshold: number;
  guardians: { address: `0x${string}`; index: number; file: string }[];
  createdAt: string;
};

/** Reads the patient's current guardian set, if any. */
export async function readGuardianSet(home: CarekeyHome): Promise<GuardianSet | undefined> {
  let text: string;
  try {
    text = await readFile(recoveryFiles(home).guardiansFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as GuardianSet;
  } catch (cause) {
    throw new CliError(`${recoveryFiles(home).guardiansFile} is damaged`, {
      cause,
      hint: 'run `carekey guardians setup` again to make a new share set',
    });
  }
}

/** Saves the patient's guardian set (atomically). */
export async function saveGuardianSet(home: CarekeyHome, set: GuardianSet): Promise<void> {
  await mkdir(recoveryFiles(home).dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(recoveryFiles(home).guardiansFile, `${JSON.stringify(set, null, 2)}\n`);
}

/** Writes a sealed (age-armored) share file. */
export async function writeSealed(path: string, sealed: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await writeFile(path, sealed, { mode: 0o600 });
}
