/**
 * age crypto benchmark: Carekey vs the `age` CLI, file to file, and our
 * in-memory STREAM encryption vs `openssl speed` on one core.
 *
 *   npx tsx scripts/bench/crypto.ts [--size 1GiB] [--runs 3]
 *
 * Each file operation runs in its own child process so its peak RSS can be
 * measured (`/usr/bin/time -v` for both). The Carekey child is this script
 * bundled to plain JS with esbuild (tsx's own dependency), so that Node does
 * not spend the run compiling TypeScript; without esbuild it runs under tsx.
 * Carekey's MB/s is given over the child's whole run (Node start-up included)
 * and over the operation alone.
 * Not a test: prints a table and a final JSON line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSize } from './support/parseSize.ts';

const self = fileURLToPath(import.meta.url);

/** Worker mode: one Carekey file operation, reporting its own duration. */
async function worker(op: string, input: string, output: string, key: string): Promise<void> {
  const { encryptFile, decryptFile } = await import('../../packages/sdk/src/crypto/node/index.ts');
  const { parseIdentity, parseRecipient } = await import('../../packages/sdk/src/crypto/index.ts');
  const start = performance.now();
  if (op === 'encrypt') await encryptFile({ input, output, recipients: [parseRecipient(key)] });
  else await decryptFile({ input, output, identities: [parseIdentity(key)] });
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds })}\n`);
}

type Run = { wallSeconds: number; opSeconds: number; cpuSeconds: number; maxRssMiB: number };

function timed(command: string, args: string[], options: { input?: string; stdout?: string } = {}): Run {
  const start = performance.now();
  const result = spawnSync('/usr/bin/time', ['-v', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const wallSeconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr);
  let opSeconds = wallSeconds;
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (line.startsWith('{')) opSeconds = (JSON.parse(line) as { seconds: number }).seconds;
  void options;
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(result.stderr)?.[1] ?? Number.NaN);
  const system = Number(/System time \(seconds\): ([\d.]+)/.exec(result.stderr)?.[1] ?? Number.NaN);
  return { wallSeconds, opSeconds, cpuSeconds: user + system, maxRssMiB: Number(rss?.[1] ?? 0) / 1024 };
}

function opensslSpeed(): number {
  const out = execFileSync(
    'openssl',
    ['speed', '-evp', 'chacha20-poly1305', '-seconds', '3', '-bytes', '65536', '-mr'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const m = /\+F:\d+:ChaCha20-Poly1305:([\d.]+)/.exec(out);
  if (!m) throw new Error(`cannot parse openssl speed output: ${out}`);
  return Number(m[1]) / 1e6; // MB/s
}

async function inMemoryEncrypt(totalBytes: number): Promise<{ wall: number; cpu: number }> {
  const { PayloadEncryptor } = await import('../../packages/sdk/src/crypto/payload.ts');
  const { nodeCryptoBackend } = await import('../../packages/sdk/src/crypto/node/nodeBackend.ts');
  const piece = randomFillSync(Buffer.allocUnsafe(4 * 2 ** 20));
  const encryptor = new PayloadEncryptor(new Uint8Array(16).fill(1), { backend: nodeCryptoBackend });
  let sinkBytes = 0;
  const sink = (p: Uint8Array) => {
    sinkBytes += p.length;
  };
  const expected = (totalBytes / (4 * 2 ** 20) + 128) * (4 * 2 ** 20);
  for (let i = 0; i < 128; i++) encryptor.write(piece, sink); // warm-up (JIT, allocator)
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let done = 0; done < totalBytes; done += piece.length) encryptor.write(piece, sink);
  encryptor.end(sink);
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (performance.now() - start) / 1000;
  if (sinkBytes < expected) throw new Error('in-memory benchmark lost output');
  // openssl speed divides by CPU user time by default: compare like with like too.
  return { wall: totalBytes / 1e6 / seconds, cpu: totalBytes / 1e6 / ((cpu.user + cpu.system) / 1e6) };
}

/** `node` arguments that run this script in worker mode: a plain-JS bundle if esbuild is there, else tsx. */
async function workerCommand(dir: string): Promise<string[]> {
  try {
    const esbuild = await import('esbuild');
    const outfile = path.join(dir, 'worker.mjs');
    await esbuild.build({
      entryPoints: [self],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      logLevel: 'error',
    });
    return [outfile, '--worker'];
  } catch {
    return ['--import', 'tsx', self, '--worker'];
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') {
    await worker(args[1] as string, args[2] as string, args[3] as string, args[4] as string);
    return;
  }
  const sizeIndex = args.indexOf('--size');
  const size = parseSize(sizeIndex >= 0 ? (args[sizeIndex + 1] ?? '') : '1GiB');
  const runsIndex = args.indexOf('--runs');
  const runs = runsIndex >= 0 ? Math.max(1, Number(args[runsIndex + 1])) : 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'carekey-bench-'));
  try {
    const plain = path.join(dir, 'plain.bin');
    // random data, 16 MiB pattern (generated once, written repeatedly)
    const block = randomFillSync(Buffer.allocUnsafe(16 * 2 ** 20));
    const fd = openSync(plain, 'w');
    for (let done = 0; done < size; done += block.length)
      writeSync(fd, block, 0, Math.min(block.length, size - done));
    closeSync(fd);

    const keyFile = path.join(dir, 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const identity = readFileSync(keyFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-1')) as string;
    const recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(dir, 'recipient.txt'), recipient);

    const node = process.execPath;
    const tsx = await workerCommand(dir);
    const ourFile = path.join(dir, 'ours.age');
    const ageFile = path.join(dir, 'age.age');
    const commands = {
      carekeyEncrypt: () => timed(node, [...tsx, 'encrypt', plain, ourFile, recipient]),
      carekeyDecrypt: () => timed(node, [...tsx, 'decrypt', ourFile, path.join(dir, 'ours.out'), identity]),
      ageEncrypt: () => timed('age', ['-r', recipient, '-o', ageFile, plain]),
      ageDecrypt: () => timed('age', ['-d', '-i', keyFile, '-o', path.join(dir, 'age.out'), ageFile]),
    };
    // Alternate the tools and keep each one's best run: the machine may be shared and noisy.
    const best: Partial<Record<keyof typeof commands, Run>> = {};
    for (let run = 0; run < runs; run++) {
      for (const [name, command] of Object.entries(commands) as [keyof typeof commands, () => Run][]) {
        const result = command();
        const previous = best[name];
        if (!previous || result.opSeconds < previous.opSeconds) best[name] = result;
      }
    }
    // Cross-check: age decrypts our file, and every output has the right size.
    timed('age', ['-d', '-i', keyFile, '-o', path.join(dir, 'cross.out'), ourFile]);
    for (const f of ['ours.out', 'age.out', 'cross.out']) {
      if (statSync(path.join(dir, f)).size !== size) throw new Error(`${f} has the wrong size`);
    }

    const mb = size / 1e6;
    const openssl = opensslSpeed();
    const memory = await inMemoryEncrypt(Math.max(256 * 2 ** 20, Math.min(size, 1024 * 2 ** 20)));
    const loadAverage = os.loadavg()[0] ?? 0;

    const row = (ours: Run, theirs: Run) => ({
      carekeyMBps: mb / ours.opSeconds,
      carekeyProcessMBps: mb / ours.wallSeconds,
      ageMBps: mb / theirs.wallSeconds,
      ratio: theirs.wallSeconds / ours.opSeconds,
      ratioProcess: theirs.wallSeconds / ours.wallSeconds,
      carekeyMBperCpuSecond: mb / ours.cpuSeconds,
      ageMBperCpuSecond: mb / theirs.cpuSeconds,
      carekeyPeakRssMiB: ours.maxRssMiB,
      agePeakRssMiB: theirs.maxRssMiB,
    });
    const results = {
      encrypt: row(best.carekeyEncrypt as Run, best.ageEncrypt as Run),
      decrypt: row(best.carekeyDecrypt as Run, best.ageDecrypt as Run),
    };
    const ageVersion = execFileSync('age', ['--version'], { encoding: 'utf8' }).trim();
    console.log(
      `\nfile to file, ${(size / 2 ** 20).toFixed(0)} MiB of random data, best of ${runs} (age ${ageVersion}, load average ${loadAverage.toFixed(1)} on ${os.cpus().length} cores)`,
    );
    console.log(
      '| op      | carekey MB/s | carekey MB/s incl. start-up | age MB/s | ratio | ratio incl. start-up | MB per CPU-s carekey / age | peak RSS carekey / age |',
    );
    console.log('|---------|---|---|---|---|---|---|---|');
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `| ${name} | ${r.carekeyMBps.toFixed(0)} | ${r.carekeyProcessMBps.toFixed(0)} | ${r.ageMBps.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.ratioProcess.toFixed(2)} | ${r.carekeyMBperCpuSecond.toFixed(0)} / ${r.ageMBperCpuSecond.toFixed(0)} | ${r.carekeyPeakRssMiB.toFixed(0)} / ${r.agePeakRssMiB.toFixed(0)} MiB |`,
      );
    }
    console.log('\nin memory, one core, 64 KiB chunks');
    console.log('| what | MB/s (wall) | MB/s (CPU time) |');
    console.log('|---|---|---|');
    console.log(
      `| carekey STREAM encrypt (node:crypto) | ${memory.wall.toFixed(0)} | ${memory.cpu.toFixed(0)} |`,
    );
    console.log(`| openssl speed -evp chacha20-poly1305 | | ${openssl.toFixed(0)} |`);
    console.log(
      `| fraction of openssl (CPU time, as openssl measures) | | ${(memory.cpu / openssl).toFixed(2)} |`,
    );
    const round = (o: Record<string, number>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    console.log(
      JSON.stringify({
        sizeBytes: size,
        runs,
        loadAverage: +loadAverage.toFixed(2),
        encrypt: round(results.encrypt),
        decrypt: round(results.decrypt),
        inMemoryEncryptMBps: +memory.wall.toFixed(1),
        inMemoryEncryptMBperCpuSecond: +memory.cpu.toFixed(1),
        opensslMBps: +openssl.toFixed(1),
        fractionOfOpenssl: +(memory.cpu / openssl).toFixed(3),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
