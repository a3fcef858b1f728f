/**
 * Signs a round of requests, then sends them once each from a second process (support/loadgen.ts) and checks every
 * answer is 2xx: what the release benches share. The node runs in the calling process and keeps answering.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the load generator measured for one round. */
export type Load = {
  count: number;
  statuses: Record<string, number>;
  seconds: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  meanBytes: number;
  /** Open loop only: the rate asked for, and the rate the generator kept sending at. */
  rate?: number;
  sendPerSecond?: number;
};

/** One pre-signed request, as the load generator reads it. */
export type Line = { method: string; path: string; headers: Record<string, string>; body?: string };

const loadgen = path.join(path.dirname(fileURLToPath(import.meta.url)), 'loadgen.ts');

/**
 * Signs `count` requests with `make` (before the clock starts) and sends them from a child process: closed loop
 * (`concurrency` in flight), or open loop at `rate` requests/s on at most `concurrency` connections (latency counted
 * from when each request was due; support/loadgen.ts).
 */
export async function runLoad(parameters: {
  url: string;
  work: string;
  name: string;
  make: () => Promise<Line>;
  count: number;
  concurrency: number;
  rate?: number | undefined;
  step: (what: string) => void;
}): Promise<Load> {
  const { url, work, name, make, count, concurrency, rate, step } = parameters;
  step(`${name}: signing ${count} requests`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(JSON.stringify(await make()));
  const file = path.join(work, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  step(`${name}: sending them from a second process`);
  const profile = await startProfile();
  const child = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const p = spawn(process.execPath, [
        '--import',
        'tsx',
        loadgen,
        url,
        file,
        String(concurrency),
        ...(rate === undefined ? [] : [String(rate)]),
      ]);
      let stdout = '';
      let stderr = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      p.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      p.on('error', reject);
      p.on('close', (status) => resolve({ status, stdout, stderr }));
    },
  );
  await profile?.stop(path.join(process.env.CAREKEY_BENCH_CPU_PROFILE ?? '', `${name}.cpuprofile`));
  if (child.status !== 0) throw new Error(`load generator failed: ${child.stderr}`);
  const load = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Load;
  if (load.statuses['429'])
    throw new Error(
      `${name}: ${load.statuses['429']} requests were rate limited (T-24); start the node with the limit off or high: --node-env <its variable>=<value>`,
    );
  const ok = (load.statuses['200'] ?? 0) + (load.statuses['201'] ?? 0);
  if (ok !== count)
    throw new Error(`${name}: only ${ok}/${count} succeeded: ${JSON.stringify(load.statuses)}`);
  return load;
}

/**
 * With `CAREKEY_BENCH_CPU_PROFILE=<dir>`, a V8 CPU profile of this process (the node under test) while one round's
 * requests are sent — set-up and request signing left out — written to `<dir>/<round>.cpuprofile`.
 */
async function startProfile(): Promise<{ stop: (file: string) => Promise<void> } | undefined> {
  if (!process.env.CAREKEY_BENCH_CPU_PROFILE) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
