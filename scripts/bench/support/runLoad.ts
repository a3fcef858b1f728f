/**
 * Signs a round of requests, then sends them once each from a second process (support/loadgen.ts) and checks every
 * answer is 2xx: what the release benches share. The node runs in the calling process and keeps answering.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  /**
   * CPU milliseconds per request while the round was sent: this process (the node under test, PGlite included), its
   * anvil child (the chain reads), a PostgreSQL server's processes under it (`--pg`), and the load generator itself
   * (measured by the generator, from its first request to its last answer), user + system. The four share the
   * machine's cores; CPU counts hold up better than rates on a shared machine.
   */
  nodeCpuMsPerRequest?: number;
  /**
   * The part of `nodeCpuMsPerRequest` spent on this process's main thread (the node's event loop), from Linux
   * `/proc` (`undefined` elsewhere): the rest is worker threads (PGlite's, with CAREKEY_PGLITE_WORKER), GC and libuv
   * threads.
   */
  mainThreadCpuMsPerRequest?: number;
  anvilCpuMsPerRequest?: number;
  postgresCpuMsPerRequest?: number;
  loadgenCpuMsPerRequest?: number;
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
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadCpuMs();
  const anvilBefore = descendantCpuMs('anvil');
  const postgresBefore = descendantCpuMs('postgres');
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
  const cpu = process.cpuUsage(cpuBefore);
  const mainAfter = mainThreadCpuMs();
  const anvilAfter = descendantCpuMs('anvil');
  const postgresAfter = descendantCpuMs('postgres');
  await profile?.stop(path.join(process.env.CAREKEY_BENCH_CPU_PROFILE ?? '', `${name}.cpuprofile`));
  if (child.status !== 0) throw new Error(`load generator failed: ${child.stderr}`);
  const load = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Load;
  load.nodeCpuMsPerRequest = (cpu.user + cpu.system) / 1000 / count;
  if (mainBefore !== undefined && mainAfter !== undefined)
    load.mainThreadCpuMsPerRequest = (mainAfter - mainBefore) / count;
  if (anvilBefore !== undefined && anvilAfter !== undefined)
    load.anvilCpuMsPerRequest = (anvilAfter - anvilBefore) / count;
  if (postgresBefore !== undefined && postgresAfter !== undefined)
    load.postgresCpuMsPerRequest = (postgresAfter - postgresBefore) / count;
  if (load.statuses['429'])
    throw new Error(
      `${name}: ${load.statuses['429']} requests were rate limited (T-24); start the node with the limit off or high: --node-env <its variable>=<value>`,
    );
  const ok = (load.statuses['200'] ?? 0) + (load.statuses['201'] ?? 0);
  if (ok !== count)
    throw new Error(`${name}: only ${ok}/${count} succeeded: ${JSON.stringify(load.statuses)}`);
  return load;
}

/** CPU ms this process's main thread has run (Linux `/proc/<pid>/task/<pid>/schedstat`, in ns), or `undefined`. */
function mainThreadCpuMs(): number | undefined {
  try {
    const ns = Number(
      readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0],
    );
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * User + system CPU ms of this process's descendants named `comm` (Linux `/proc`: `anvil`, or a PostgreSQL server's
 * `postgres` processes, started through `runuser` when root), or `undefined` where none is found or `/proc` is
 * unreadable. Processes that exited in between are not counted (the server's backends live for the whole run).
 */
function descendantCpuMs(comm: string): number | undefined {
  const tick = 1000 / 100; // USER_HZ
  let total: number | undefined;
  const visit = (pid: string, depth: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children: string[];
      try {
        const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
        children = text === '' ? [] : text.split(' ');
      } catch {
        continue;
      }
      for (const child of children) {
        try {
          if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === comm) {
            // Fields after the parenthesised command: utime and stime are the 12th and 13th.
            const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            total = (total ?? 0) + (Number(fields[11]) + Number(fields[12])) * tick;
          }
        } catch {}
        if (depth < 4) visit(child, depth + 1);
      }
    }
  };
  visit(String(process.pid), 0);
  return total;
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
