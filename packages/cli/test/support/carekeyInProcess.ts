import { main } from '../../src/main.ts';
import type { CarekeyRun } from './carekeyBin.ts';

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs a `carekey` command in this process (the command modules, `main`'s error handling and exit code, its
 * stdout and stderr), with `env` set for the run only. Much faster than spawning the binary; runs are serialised
 * (the environment and the standard streams are process-wide). Keep one pass through the real binary per story.
 */
export function carekeyInProcess(args: readonly string[], env: Record<string, string>): Promise<CarekeyRun> {
  const run = queue.then(async () => {
    const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    let stdout = '';
    let stderr = '';
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof process.stderr.write;
    try {
      const code = await main(['node', 'carekey', ...args]);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
  queue = run.catch(() => {});
  return run;
}
