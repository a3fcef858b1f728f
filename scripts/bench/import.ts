/**
 * Import bench (issue 4, "Performance"): every Synthea patient imported end to end against a real node running in
 * its own process, beside inserting the same resources as plain JSON rows into the same SQL store, in the same run.
 *
 *   npm run bench -- --only import [--patients 25] [--bundle <file>] [--threads 2] [--chain-timeout 300] [--stages]
 *     [--pg] [--node-cpu-prof <dir>]
 *
 * The topology a user has: the node is `npm start`'s `packages/node/src/main.ts` in a process of its own (embedded
 * anvil, on-disk PGlite, blob store, HTTP API, request log; `spawnBenchNode`), the import client is this process.
 * End to end = what `carekey import` does, for every patient (default all 25 bundles of shared/data/synthea;
 * `--bundle` takes one file name there or a path), over HTTP: validate and split every bundle on all cores
 * (`FhirWorkerPool`, custodian stamped), encrypt each record (age, fresh file key) and wrap its key — a bundle's
 * records as soon as the pool has validated it, while the pool validates the others (`encryptItems`) — then, once
 * every bundle is valid, upload the payloads (`POST /v1/blobs/batch`, many per signed request), sign and post one
 * batch per ≤ 1,000 records (`publishEncrypted`; the CLI's code, which also keeps the local copies); the node relays
 * each batch (one chain write per batch) and its indexer stores the on-chain batch. Times: validation alone, until
 * the node accepted every batch (what `carekey import` waits for), and until every batch is on chain and indexed
 * (polled with `GET /v1/records` every 0.5 s). The pool is warmed first (definitions load once per thread; a
 * gateway keeps its pool).
 *
 * Baseline: the same resources, `JSON.stringify`'d, one jsonb row each, in one transaction of the node's own store
 * (`openSql` on its data folder, as the node opens it), inserted one row per statement and 1,000 rows per statement
 * — each before the node starts (the fresh, migrated store) and after it stopped (the store holding the import), in
 * this process; the fastest of the four is the baseline. CPU seconds of the import are this process's (client and
 * the pool's threads) plus the node process's (all its threads; anvil is a third process, not counted).
 * Not a test: prints a table and a final JSON line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type EncryptedItem,
  encryptItems,
  itemsOfRecords,
  PayloadUploads,
  publishContext,
  publishEncrypted,
} from '../../packages/cli/src/commands/publishFhir.ts';
import { didOf } from '../../packages/cli/src/home/nodeFacts.ts';
import { migrate } from '../../packages/node/src/db/migrate.ts';
import { openSql } from '../../packages/node/src/db/openSql.ts';
import type { Sql } from '../../packages/node/src/db/Sql.ts';
import { FhirWorkerPool, validateMany } from '../../packages/sdk/src/fhir/node/index.ts';
import {
  machineLine,
  newSession,
  option,
  printTable,
  since,
  spawnBenchNode,
  until,
} from './support/benchNode.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bundlesDir = path.join(repoRoot, '../shared/data/synthea/bundles');
const bundle = option('bundle', '');
const files = bundle
  ? [path.isAbsolute(bundle) ? bundle : path.join(bundlesDir, bundle)]
  : readdirSync(bundlesDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .slice(0, Number(option('patients', '25')))
      .map((f) => path.join(bundlesDir, f));
const threads = Number(option('threads', '2'));
/** `--stages`: where the publish phase's wall time goes (each stage's calls timed; see stageTimer). */
const stages = process.argv.includes('--stages');
/** `--node-cpu-prof <dir>`: the node process runs under `--cpu-prof` (its profile is written when it stops). */
const nodeCpuProfile = option('node-cpu-prof', '');
const inputs = files.map((f) => readFileSync(f));
const bytes = inputs.reduce((n, b) => n + b.length, 0);
const resources = inputs.flatMap((b) =>
  (JSON.parse(b.toString('utf8')) as { entry: { resource: unknown }[] }).entry.map((e) => e.resource),
);

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** Rows per statement of the multi-row plain insert (the import's own inserts are multi-row too). */
const PLAIN_ROWS_PER_STATEMENT = 1000;

type PlainRun = { seconds: number; cpu: number; mode: 'row' | 'multi' };

/**
 * The same resources as plain JSON rows in the node's store, one transaction (seconds, CPU seconds of this
 * process): one `insert` per row, or multi-row `insert … values` of 1,000 rows each (whichever is faster is the
 * baseline).
 */
async function plainInsert(sql: Sql, mode: 'row' | 'multi'): Promise<PlainRun> {
  await sql.exec('create table bench_plain_resources (id bigserial primary key, resource jsonb not null)');
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await sql.transaction(async (tx) => {
    if (mode === 'row') {
      for (const resource of resources)
        await tx.query('insert into bench_plain_resources (resource) values ($1)', [
          JSON.stringify(resource),
        ]);
      return;
    }
    for (let at = 0; at < resources.length; at += PLAIN_ROWS_PER_STATEMENT) {
      const chunk = resources.slice(at, at + PLAIN_ROWS_PER_STATEMENT);
      await tx.query(
        `insert into bench_plain_resources (resource) values ${chunk.map((_, i) => `($${i + 1})`).join(', ')}`,
        chunk.map((resource) => JSON.stringify(resource)),
      );
    }
  });
  const result = { seconds: since(start), cpu: cpuSeconds(cpu0), mode };
  const { rows } = await sql.query<{ n: bigint }>('select count(*) as n from bench_plain_resources');
  if (Number(rows[0]?.n) !== resources.length) throw new Error('the plain insert lost rows');
  await sql.exec('drop table bench_plain_resources');
  return result;
}

/** Both plain runs on the node's store (its data folder or `--pg` database), opened as the node opens it. */
async function plainRunsOn(store: { dataDir: string; databaseUrl: string | undefined }): Promise<PlainRun[]> {
  const sql = await openSql(store);
  try {
    await migrate({ sql });
    return [await plainInsert(sql, 'row'), await plainInsert(sql, 'multi')];
  } finally {
    await sql.close();
  }
}

/** Epoch milliseconds (comparable with the node process's stage log). */
const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Per-stage timings of the publish phase on the client side (`--stages`): the calls of each stage wrapped in
 * place (uploads, publishes, local copies), each call's interval kept (epoch ms) to be merged with the node's.
 */
function stageTimer() {
  const intervals = new Map<string, number[]>();
  const time = async <result>(stage: string, run: () => Promise<result>): Promise<result> => {
    const start = epochNow();
    try {
      return await run();
    } finally {
      const list = intervals.get(stage) ?? [];
      intervals.set(stage, list);
      list.push(start, epochNow());
    }
  };
  const wrap = <target extends object>(object: target, method: keyof target, stage: string) => {
    const original = (object[method] as (...args: unknown[]) => Promise<unknown>).bind(object);
    (object as Record<keyof target, unknown>)[method] = (...args: unknown[]) =>
      time(stage, () => original(...args));
  };
  return { intervals, wrap };
}

/** Calls and busy wall ms (the union of the intervals: concurrent calls count once) inside `[from, to]`. */
function busyWithin(flat: readonly number[], from: number, to: number): { calls: number; ms: number } {
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const start = Math.max(flat[i] as number, from);
    const end = Math.min(flat[i + 1] as number, to);
    if (end >= start && (flat[i + 1] as number) >= from && (flat[i] as number) <= to)
      pairs.push([start, end]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  let ms = 0;
  let open: [number, number] | undefined;
  for (const pair of pairs) {
    if (open && pair[0] <= open[1]) open[1] = Math.max(open[1], pair[1]);
    else {
      if (open) ms += open[1] - open[0];
      open = [...pair];
    }
  }
  if (open) ms += open[1] - open[0];
  return { calls: pairs.length, ms };
}

/** The fastest run (wall); its CPU seconds are that run's. */
const fastest = <run extends { seconds: number }>(runs: run[]): run =>
  runs.reduce((best, run) => (run.seconds < best.seconds ? run : best));

const step = (what: string) => console.error(`[import ${new Date().toISOString().slice(11, 19)}] ${what}`);
step('baseline: plain insert into the fresh store; starting the node in its own process');
const plainRuns: PlainRun[] = [];
const bench = await spawnBenchNode({
  stages,
  cpuProfileDir: nodeCpuProfile || undefined,
  prepare: async (store) => {
    plainRuns.push(...(await plainRunsOn(store)));
  },
});
const plainBefore = fastest(plainRuns);
const pool = new FhirWorkerPool({ threads });
try {
  const session = await newSession(bench.dir, 'patient', bench.url);
  const description = await session.node.describe();
  const custodian = didOf(session.keys.address, description.chainId);
  const warmStart = performance.now();
  await Promise.all(
    Array.from({ length: pool.threads }, () => pool.split('{"resourceType":"Basic","code":{"text":"warm"}}')),
  );
  const warm = since(warmStart);

  step(`importing ${resources.length} resources of ${files.length} bundle(s)`);
  const cpu0 = process.cpuUsage();
  const nodeCpu0 = bench.cpuSeconds();
  const start = performance.now();
  // CPU of both processes since the start (client: all its threads; node: all its threads).
  const cpuNow = () => {
    const client = cpuSeconds(cpu0);
    const node = bench.cpuSeconds() - nodeCpu0;
    return { client, node, total: client + node };
  };
  // Each bundle's records are encrypted on this thread as soon as the pool has validated them, while the pool
  // validates the rest, and their payloads uploaded (no record visible: PayloadUploads); nothing is published
  // before every bundle is valid (an invalid one stops the import).
  const context = await publishContext(session, session.keys.address);
  const uploads = new PayloadUploads(session);
  const encrypted: EncryptedItem[][] = new Array(inputs.length);
  let validated = 0;
  await validateMany({
    inputs,
    pool,
    custodian,
    onResult: async (index, result) => {
      validated = since(start);
      if (!result.ok) throw new Error(`${files[index]} was refused: ${String(result.error)}`);
      const items = await encryptItems(session, context, itemsOfRecords(result.records));
      encrypted[index] = items;
      uploads.add(items);
    },
  });
  const encryptedAt = since(start);
  const encryptedCpu = cpuNow();
  const publishFrom = epochNow();
  const requestsBefore = bench.requests.length;
  const timer = stageTimer();
  if (stages) {
    timer.wrap(session.node, 'putBlobs', 'client: putBlobs (HTTP upload, whole request)');
    timer.wrap(session.node, 'publishRecords', 'client: publishRecords (HTTP, whole request)');
    timer.wrap(session.store, 'putFiles', 'client: local copies (putFiles)');
    timer.wrap(session.store, 'save', 'client: local index (save)');
  }
  const published = await publishEncrypted({
    session,
    context,
    prepared: encrypted.flat(),
    source: `${files.length} Synthea bundles`,
    uploads,
  });
  const accepted = since(start);
  const acceptedCpu = cpuNow();
  const publishTo = epochNow();
  if (published.records.length !== resources.length)
    throw new Error(`imported ${published.records.length} records, the bundles have ${resources.length}`);
  step('accepted; waiting for the chain and the indexer');
  // On a saturated machine the chain leg can lag far behind: waited for at most --chain-timeout seconds, then
  // reported as null.
  let stored: number | null = null;
  try {
    await until(
      'every batch on chain and indexed',
      async () => {
        await new Promise((r) => setTimeout(r, 450));
        const { records } = await session.node.listRecords();
        return records.filter((r) => r.batchId !== null).length === resources.length;
      },
      Number(option('chain-timeout', '300')) * 1000,
    );
    stored = since(start);
  } catch (error) {
    step(String(error));
  }
  const storedCpu = cpuNow();
  // The node's request log lines of the publish phase (a line arrives just after its answer).
  const requests = bench.requests.slice(requestsBefore).filter((r) => r.at <= publishTo + 100);

  step('stopping the node; baseline: plain insert into the store holding the import');
  const stageLog = await bench.stop();
  const plainAfterRuns = await plainRunsOn(bench);
  plainRuns.push(...plainAfterRuns);
  const plainAfter = fastest(plainAfterRuns);
  const plain = fastest([plainBefore, plainAfter]);

  if (stages) {
    const publishWindow = publishTo - publishFrom;
    const rows: [string, { calls: number; ms: number }][] = [];
    for (const [stage, flat] of timer.intervals) rows.push([stage, busyWithin(flat, publishFrom, publishTo)]);
    for (const [stage, flat] of Object.entries(stageLog ?? {}))
      rows.push([`node: ${stage}`, busyWithin(flat, publishFrom, publishTo)]);
    // The node's request log: each request's own time (parse, checks, handler, reply), summed per route.
    const byRoute = new Map<string, { calls: number; ms: number }>();
    for (const r of requests) {
      const key = `node: ${r.method} ${r.route} (request log, sum)`;
      const s = byRoute.get(key) ?? { calls: 0, ms: 0 };
      s.calls++;
      s.ms += r.ms;
      byRoute.set(key, s);
    }
    rows.push(...byRoute);
    printTable(
      ['stage (publish phase, --stages)', 'calls', 'busy wall s', '% of the publish phase'],
      rows
        .filter(([, s]) => s.calls > 0)
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([stage, s]) => [
          stage,
          String(s.calls),
          (s.ms / 1000).toFixed(2),
          ((100 * s.ms) / publishWindow).toFixed(0),
        ]),
    );
    console.log(
      `publish phase ${(publishWindow / 1000).toFixed(2)} s wall; CPU s client ${(acceptedCpu.client - encryptedCpu.client).toFixed(2)}, node ${(acceptedCpu.node - encryptedCpu.node).toFixed(2)}`,
    );
  }

  const rate = (seconds: number) => resources.length / seconds;
  console.log(
    `${files.length} Synthea bundle(s): ${resources.length} resources, ${(bytes / 1e6).toFixed(1)} MB, ` +
      `${published.batches.length} batches (chain writes); node in its own process (${bench.database}); ` +
      `pool of ${pool.threads} warmed in ${warm.toFixed(1)} s; ` +
      `plain insert before/after the import ${plainBefore.seconds.toFixed(2)}/${plainAfter.seconds.toFixed(2)} s ` +
      `(fastest: ${plain.mode === 'row' ? 'one row' : `${PLAIN_ROWS_PER_STATEMENT} rows`} per statement); ${machineLine()}`,
  );
  const cpuCells = (cpu: { client: number; node: number; total: number }) => [
    cpu.total.toFixed(2),
    cpu.client.toFixed(2),
    cpu.node.toFixed(2),
    (cpu.total / plain.cpu).toFixed(1),
  ];
  const row = (what: string, seconds: number, cpu?: { client: number; node: number; total: number }) => [
    what,
    seconds.toFixed(2),
    rate(seconds).toFixed(0),
    (seconds / plain.seconds).toFixed(1),
    ...(cpu ? cpuCells(cpu) : ['', '', '', '']),
  ];
  printTable(
    [
      'step',
      'wall s',
      'resources/s',
      '× plain (wall)',
      'CPU s',
      'client CPU s',
      'node CPU s',
      '× plain (CPU)',
    ],
    [
      [
        'plain JSON rows, same store (baseline)',
        plain.seconds.toFixed(2),
        rate(plain.seconds).toFixed(0),
        '1.0',
        plain.cpu.toFixed(2),
        '',
        '',
        '1.0',
      ],
      row('validate + split, worker pool (last bundle validated)', validated),
      row('+ encrypt (overlapping the validation)', encryptedAt, encryptedCpu),
      row('import until the node accepted', accepted, acceptedCpu),
      stored === null
        ? ['import until on chain + indexed', 'timeout', '-', '-', '', '', '', '']
        : row('import until on chain + indexed (incl. polls)', stored, storedCpu),
    ],
  );
  console.log(
    JSON.stringify({
      bench: 'import',
      topology: 'node process + client process',
      database: bench.database,
      bundles: files.length,
      resources: resources.length,
      bytes,
      batches: published.batches.length,
      threads: pool.threads,
      loadAverage: +(loadavg()[0] ?? 0).toFixed(1),
      plainSeconds: +plain.seconds.toFixed(3),
      plainPerSecond: Math.round(rate(plain.seconds)),
      plainCpuSeconds: +plain.cpu.toFixed(3),
      plainMode: plain.mode,
      // Every plain run (one row / 1,000 rows per statement, before then after the import): seconds and CPU seconds.
      plainRuns: plainRuns.map((r) => ({
        mode: r.mode,
        seconds: +r.seconds.toFixed(3),
        cpu: +r.cpu.toFixed(3),
      })),
      validateSeconds: +validated.toFixed(3),
      validatePerSecond: Math.round(rate(validated)),
      encryptedSeconds: +encryptedAt.toFixed(3),
      encryptedCpuSeconds: +encryptedCpu.total.toFixed(3),
      acceptedSeconds: +accepted.toFixed(3),
      acceptedPerSecond: Math.round(rate(accepted)),
      acceptedCpuSeconds: +acceptedCpu.total.toFixed(3),
      acceptedClientCpuSeconds: +acceptedCpu.client.toFixed(3),
      acceptedNodeCpuSeconds: +acceptedCpu.node.toFixed(3),
      storedSeconds: stored === null ? null : +stored.toFixed(3),
      storedPerSecond: stored === null ? null : Math.round(rate(stored)),
      acceptedVsPlain: +(accepted / plain.seconds).toFixed(2),
      storedVsPlain: stored === null ? null : +(stored / plain.seconds).toFixed(2),
      acceptedCpuVsPlain: +(acceptedCpu.total / plain.cpu).toFixed(2),
    }),
  );
} finally {
  await pool.close();
  await bench.remove();
}
