import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The real `bin/carekey.js` (tsx on the sources). */
export const CAREKEY_BIN = join(import.meta.dirname, '..', '..', 'bin', 'carekey.js');

/**
 * What {@link carekey} runs: the CLI bundled once per vitest run by `carekeyBundleSetup.ts` (same sources, no tsx
 * loader at each start), or the real `bin/carekey.js` when the run has no bundle (another config, `CAREKEY_TEST_CLI_BUNDLE` unset).
 */
const bin = process.env.CAREKEY_TEST_CLI_BUNDLE || CAREKEY_BIN;

/** What one run of the `carekey` binary printed. */
export type CarekeyRun = { code: number | null; stdout: string; stderr: string };

/** Runs the `carekey` CLI in a new process with only PATH and the given environment. */
export function carekey(
  args: readonly string[],
  env: Record<string, string>,
  timeout = 240_000,
): Promise<CarekeyRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Parses the one JSON line a `--json` run printed, failing with what it printed on stderr. */
export function jsonOf<result>(run: CarekeyRun): result {
  if (run.code !== 0) throw new Error(`carekey exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as result;
}
