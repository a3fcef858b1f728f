/**
 * Import bench (issue 4, "Performance"): every Synthea patient imported end to end against a real node, beside
 * inserting the same resources as plain JSON rows into the same SQL store, in the same run.
 *
 *   npm run bench -- --only import [--patients 25] [--bundle <file>] [--threads 2] [--chain-timeout 300]
 *
 * End to end = what `carekey import` does, for every patient (default all 25 bundles of shared/data/synthea;
 * `--bundle` takes one file name there or a path), in this process against a real node (embedded anvil, on-disk
 * PGlite, blob store, HTTP API): validate and split every bundle on all cores (`FhirWorkerPool`, custodian
 * stamped), encrypt each record (age, fresh file key) and wrap its key — a bundle's records as soon as the pool has
 * validated it, while the pool validates the others (`encryptItems`) — then, once every bundle is valid, upload the
 * payloads (`POST /v1/blobs/batch`, many per signed request), sign and post one batch per ≤ 1,000 records
 * (`publishEncrypted`; the CLI's code, which also keeps the local copies); the node relays each batch (one chain write per batch) and its indexer stores
 * the on-chain batch. Times: validation alone, until the node accepted every batch (what `carekey import` waits
 * for), and until every batch is on chain and indexed. The pool is warmed first (definitions load once per thread;
 * a gateway keeps its pool).
 *
 * Baseline: the same resources, `JSON.stringify`'d, one jsonb row each, in one transaction of the node's own PGlite
 * while the node runs, inserted one row per statement and 1,000 rows per statement — each before the import (fresh
 * store) and after it (store holding the import); the fastest of the four is the baseline. CPU seconds are this process's (client, node and the pool's threads; anvil is another process).
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
  publishContext,
  publishEncrypted,
} from '../../packages/cli/src/commands/publishFhir.ts';
import { didOf } from '../../packages/cli/src/home/nodeFacts.ts';
import type { CarekeyNode } from '../../packages/node/src/startNode.ts';
import { FhirWorkerPool, validateMany } from '../../packages/sdk/src/fhir/node/index.ts';
import {
  machineLine,
  newSession,
  option,
  outboxSettled,
  printTable,
  since,
  startBenchNode,
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

/**
 * The same resources as plain JSON rows in the node's own PGlite, one transaction (seconds, CPU seconds): one
 * `insert` per row, or multi-row `insert … values` of 1,000 rows each (whichever is faster is the baseline).
 */
async function plainInsert(
  node: CarekeyNode,
  mode: 'row' | 'multi',
): Promise<{ seconds: number; cpu: number; mode: 'row' | 'multi' }> {
  await node.sql.exec(
    'create table bench_plain_resources (id bigserial primary key, resource jsonb not null)',
  );
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await node.sql.transaction(async (tx) => {
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
  const { rows } = await node.sql.query<{ n: bigint }>('select count(*) as n from bench_plain_resources');
  if (Number(rows[0]?.n) !== resources.length) throw new Error('the plain insert lost rows');
  await node.sql.exec('drop table bench_plain_resources');
  return result;
}

/**
 * Per-stage timings of the publish phase (`--stages`): the calls of each stage wrapped in place (client uploads
 * and publishes, the node's blob batches and SQL statements by kind, the local copies), each stage's busy wall time
 * (the union of its calls' intervals: concurrent calls count once) and its call count. Wrapping costs a little; the
 * table's other figures are those of a run without it.
 */
function stageTimer() {
  const busy = new Map<string, { calls: number; ms: number; open: number; since: number }>();
  const time = async <result>(stage: string, run: () => Promise<result>): Promise<result> => {
    const s = busy.get(stage) ?? { calls: 0, ms: 0, open: 0, since: 0 };
    busy.set(stage, s);
    s.calls++;
    if (s.open++ === 0) s.since = performance.now();
    try {
      return await run();
    } finally {
      if (--s.open === 0) s.ms += performance.now() - s.since;
    }
  };
  const wrap = <target extends object>(
    object: target,
    method: keyof target,
    stage: string | ((...args: unknown[]) => string),
  ) => {
    const original = (object[method] as (...args: unknown[]) => Promise<unknown>).bind(object);
    (object as Record<keyof target, unknown>)[method] = (...args: unknown[]) =>
      time(typeof stage === 'string' ? stage : stage(...args), () => original(...args));
  };
  const statement = (text: string) =>
    `SQL ${String(text).trim().split(/\s+/).slice(0, 3).join(' ').replace(/\(.*$/, '').toLowerCase()}`;
  return { busy, time, wrap, statement };
}

/** The fastest run (wall); its CPU seconds are that run's. */
const fastest = <run extends { seconds: number }>(runs: run[]): run =>
  runs.reduce((best, run) => (run.seconds < best.seconds ? run : best));

const step = (what: string) => console.error(`[import ${new Date().toISOString().slice(11, 19)}] ${what}`);
step('starting the node');
const bench = await startBenchNode();
const pool = new FhirWorkerPool({ threads });
try {
  const { node } = bench;
  const session = await newSession(bench.dir, 'patient', bench.url);
  const description = await session.node.describe();
  const custodian = didOf(session.keys.address, description.chainId);
  await outboxSettled(node);
  const warmStart = performance.now();
  await Promise.all(
    Array.from({ length: pool.threads }, () => pool.split('{"resourceType":"Basic","code":{"text":"warm"}}')),
  );
  const warm = since(warmStart);
  step('baseline: plain insert into the fresh store');
  const plainRuns = [await plainInsert(node, 'row'), await plainInsert(node, 'multi')];
  const plainBefore = fastest(plainRuns);

  step(`importing ${resources.length} resources of ${files.length} bundle(s)`);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  // Each bundle's records are encrypted on this thread as soon as the pool has validated them, while the pool
  // validates the rest; nothing is sent before every bundle is valid (an invalid one stops the import).
  const context = await publishContext(session, session.keys.address);
  const encrypted: EncryptedItem[][] = new Array(inputs.length);
  let validated = 0;
  await validateMany({
    inputs,
    pool,
    custodian,
    onResult: async (index, result) => {
      validated = since(start);
      if (!result.ok) throw new Error(`${files[index]} was refused: ${String(result.error)}`);
      encrypted[index] = await encryptItems(session, context, itemsOfRecords(result.records));
    },
  });
  const encryptedAt = since(start);
  const encryptedCpu = cpuSeconds(cpu0);
  const timer = stageTimer();
  if (stages) {
    timer.wrap(session.node, 'putBlobs', 'client: putBlobs (HTTP upload, whole request)');
    timer.wrap(session.node, 'publishRecords', 'client: publishRecords (HTTP, whole request)');
    timer.wrap(node.blobs, 'putBatch', 'node: blob batch (putBatch)');
    timer.wrap(node.blobs, 'has', 'node: blob look-ups (has)');
    timer.wrap(session.store, 'putFiles', 'client: local copies (putFiles)');
    timer.wrap(session.store, 'save', 'client: local index (save)');
    timer.wrap(node.sql, 'query', (text: unknown) => timer.statement(String(text)));
    const transaction = node.sql.transaction.bind(node.sql);
    node.sql.transaction = ((
      run: (tx: Parameters<Parameters<typeof transaction>[0]>[0]) => Promise<unknown>,
      options?: Parameters<typeof transaction>[1],
    ) =>
      timer.time('SQL transaction (whole)', () =>
        transaction((tx) => {
          timer.wrap(tx, 'query', (text: unknown) => timer.statement(String(text)));
          return run(tx);
        }, options),
      )) as typeof transaction;
  }
  const published = await publishEncrypted({
    session,
    context,
    prepared: encrypted.flat(),
    source: `${files.length} Synthea bundles`,
  });
  const accepted = since(start);
  const acceptedCpu = cpuSeconds(cpu0);
  if (published.records.length !== resources.length)
    throw new Error(`imported ${published.records.length} records, the bundles have ${resources.length}`);
  step('accepted; waiting for the chain and the indexer');
  if (stages) {
    const publishWindow = (accepted - encryptedAt) * 1000;
    printTable(
      ['stage (publish phase, --stages)', 'calls', 'busy wall s', '% of the publish phase'],
      [...timer.busy.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([stage, s]) => [
          stage,
          String(s.calls),
          (s.ms / 1000).toFixed(2),
          ((100 * s.ms) / publishWindow).toFixed(0),
        ]),
    );
  }
  const roots = published.batches.map((b) => Buffer.from(b.root.slice(2), 'hex'));
  // On a saturated machine the chain leg can lag far behind: waited for at most --chain-timeout seconds, then
  // reported as null with the outbox's state.
  let stored: number | null = null;
  try {
    await until(
      'every batch on chain and indexed',
      async () => {
        const { rows } = await node.sql.query<{ n: bigint }>(
          'select count(*) as n from chain_batches where root = any($1)',
          [roots],
        );
        return Number(rows[0]?.n ?? 0n) === roots.length;
      },
      Number(option('chain-timeout', '300')) * 1000,
    );
    stored = since(start);
  } catch (error) {
    const { rows } = await node.sql.query<{ status: string; n: bigint }>(
      'select status, count(*) as n from outbox group by status',
    );
    step(`${String(error)}; outbox: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}`);
  }
  const storedCpu = cpuSeconds(cpu0);

  step('baseline: plain insert into the store holding the import');
  plainRuns.push(await plainInsert(node, 'row'), await plainInsert(node, 'multi'));
  const plainAfter = fastest(plainRuns.slice(2));
  const plain = fastest([plainBefore, plainAfter]);

  const rate = (seconds: number) => resources.length / seconds;
  console.log(
    `${files.length} Synthea bundle(s): ${resources.length} resources, ${(bytes / 1e6).toFixed(1)} MB, ` +
      `${published.batches.length} batches (chain writes); pool of ${pool.threads} warmed in ${warm.toFixed(1)} s; ` +
      `plain insert before/after the import ${plainBefore.seconds.toFixed(2)}/${plainAfter.seconds.toFixed(2)} s ` +
      `(fastest: ${plain.mode === 'row' ? 'one row' : `${PLAIN_ROWS_PER_STATEMENT} rows`} per statement); ${machineLine()}`,
  );
  const row = (what: string, seconds: number, cpu = '', cpuRatio = '') => [
    what,
    seconds.toFixed(2),
    rate(seconds).toFixed(0),
    (seconds / plain.seconds).toFixed(1),
    cpu,
    cpuRatio,
  ];
  printTable(
    ['step', 'wall s', 'resources/s', '× plain (wall)', 'CPU s', '× plain (CPU)'],
    [
      row('plain JSON rows, same PGlite (baseline)', plain.seconds, plain.cpu.toFixed(2), '1.0'),
      row('validate + split, worker pool (last bundle validated)', validated),
      row(
        '+ encrypt (overlapping the validation)',
        encryptedAt,
        encryptedCpu.toFixed(2),
        (encryptedCpu / plain.cpu).toFixed(1),
      ),
      row(
        'import until the node accepted',
        accepted,
        acceptedCpu.toFixed(2),
        (acceptedCpu / plain.cpu).toFixed(1),
      ),
      stored === null
        ? ['import until on chain + indexed', 'timeout', '-', '-', '', '']
        : row(
            'import until on chain + indexed',
            stored,
            storedCpu.toFixed(2),
            (storedCpu / plain.cpu).toFixed(1),
          ),
    ],
  );
  console.log(
    JSON.stringify({
      bench: 'import',
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
      encryptedCpuSeconds: +encryptedCpu.toFixed(3),
      acceptedSeconds: +accepted.toFixed(3),
      acceptedPerSecond: Math.round(rate(accepted)),
      acceptedCpuSeconds: +acceptedCpu.toFixed(3),
      storedSeconds: stored === null ? null : +stored.toFixed(3),
      storedPerSecond: stored === null ? null : Math.round(rate(stored)),
      acceptedVsPlain: +(accepted / plain.seconds).toFixed(2),
      storedVsPlain: stored === null ? null : +(stored / plain.seconds).toFixed(2),
      acceptedCpuVsPlain: +(acceptedCpu / plain.cpu).toFixed(2),
    }),
  );
} finally {
  await pool.close();
  await bench.stop();
}
