/**
 * Import bench (issue 3, "Performance"): a Synthea patient imported end to end against a real node, beside
 * inserting the same resources as plain JSON rows into the same SQL store.
 *
 *   npm run bench -- --only import [--bundle <file in shared/data/synthea/bundles>] [--rounds 2]
 *
 * The import is the CLI's own `carekey import` code (`publishFhir`), run in this process against a real node
 * (embedded anvil, on-disk PGlite, blob store, HTTP API): validate and split the FHIR, encrypt each record, upload
 * each payload, sign and post the batch; then the node relays it (outbox → RecordRegistry) and its indexer stores
 * the on-chain batch from its event. Two times are given: until the node accepted the batch (what `carekey import`
 * waits for) and until the chain has it and the node stored the link (end to end).
 *
 * The baseline inserts the same resources, `JSON.stringify`'d, one row each (jsonb), in one transaction of the
 * node's own PGlite, while the node runs. Best of `--rounds` (a fresh import each round: new record ids). CPU
 * seconds are this process's (client and node; anvil is another process): on a loaded machine they say more than
 * the wall clock.
 * Not a test: prints a table and a final JSON line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishFhir } from '../../packages/cli/src/commands/publishFhir.ts';
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
const bundles = path.join(repoRoot, '../shared/data/synthea/bundles');
// Default: the median-sized bundle of the set (a typical patient, one batch of ≤ 1,000 records).
const sorted = readdirSync(bundles)
  .filter((f) => f.endsWith('.json'))
  .sort((a, b) => statSync(path.join(bundles, a)).size - statSync(path.join(bundles, b)).size);
const chosen = option('bundle', sorted[Math.floor(sorted.length / 2)] ?? '');
const file = path.isAbsolute(chosen) ? chosen : path.join(bundles, chosen);
const rounds = Number(option('rounds', '2'));
const bytes = statSync(file).size;
const resources = (JSON.parse(readFileSync(file, 'utf8')) as { entry: { resource: unknown }[] }).entry.map(
  (e) => e.resource,
);

const bench = await startBenchNode();
try {
  const { node } = bench;
  const session = await newSession(bench.dir, 'patient', bench.url);
  await outboxSettled(node);

  type Round = { accepted: number; stored: number; cpu: number; records: number; batches: number };
  let best: Round | undefined;
  for (let round = 0; round < rounds; round++) {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const result = await publishFhir({ session, file, patient: session.keys.address });
    const accepted = since(start);
    const roots = result.batches.map((b) => Buffer.from(b.root.slice(2), 'hex'));
    await until('the batch on chain and indexed', async () => {
      const { rows } = await node.sql.query<{ n: bigint }>(
        `select count(*) as n from chain_batches where root = any($1)`,
        [roots],
      );
      return Number(rows[0]?.n ?? 0n) === roots.length;
    });
    const stored = since(start);
    const used = process.cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1e6;
    if (result.records.length !== resources.length)
      throw new Error(`imported ${result.records.length} records, the bundle has ${resources.length}`);
    if (!best || stored < best.stored)
      best = { accepted, stored, cpu, records: result.records.length, batches: result.batches.length };
  }
  if (!best) throw new Error('--rounds must be at least 1');

  // Baseline: the same resources as plain JSON rows in the same store (the node's PGlite, node running).
  await node.sql.exec(
    'create table bench_plain_resources (id bigserial primary key, resource jsonb not null)',
  );
  let plain = Number.POSITIVE_INFINITY;
  let plainCpu = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    await node.sql.exec('truncate bench_plain_resources');
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await node.sql.transaction(async (tx) => {
      for (const resource of resources)
        await tx.query('insert into bench_plain_resources (resource) values ($1)', [
          JSON.stringify(resource),
        ]);
    });
    plain = Math.min(plain, since(start));
    const used = process.cpuUsage(cpu0);
    plainCpu = Math.min(plainCpu, (used.user + used.system) / 1e6);
  }
  const { rows } = await node.sql.query<{ n: bigint }>('select count(*) as n from bench_plain_resources');
  if (Number(rows[0]?.n) !== resources.length) throw new Error('the plain insert lost rows');
  await node.sql.exec('drop table bench_plain_resources');

  const rate = (seconds: number) => resources.length / seconds;
  console.log(
    `${path.basename(file)}: ${resources.length} resources, ${(bytes / 1e6).toFixed(2)} MB, ` +
      `${best.batches} batch(es); best of ${rounds}; ${machineLine()}`,
  );
  printTable(
    ['step', 'wall s', 'resources/s', '× plain (wall)', 'CPU s', '× plain (CPU)'],
    [
      [
        'plain JSON rows, same PGlite (baseline)',
        plain.toFixed(3),
        rate(plain).toFixed(0),
        '1.0',
        plainCpu.toFixed(3),
        '1.0',
      ],
      [
        'carekey import until the node accepted',
        best.accepted.toFixed(3),
        rate(best.accepted).toFixed(0),
        (best.accepted / plain).toFixed(1),
        '',
        '',
      ],
      [
        'carekey import until on chain + indexed',
        best.stored.toFixed(3),
        rate(best.stored).toFixed(0),
        (best.stored / plain).toFixed(1),
        best.cpu.toFixed(3),
        (best.cpu / plainCpu).toFixed(1),
      ],
    ],
  );
  console.log(
    JSON.stringify({
      bench: 'import',
      bundle: path.basename(file),
      resources: resources.length,
      bytes,
      batches: best.batches,
      rounds,
      loadAverage: +(loadavg()[0] ?? 0).toFixed(1),
      plainSeconds: +plain.toFixed(4),
      plainPerSecond: Math.round(rate(plain)),
      plainCpuSeconds: +plainCpu.toFixed(4),
      importCpuSeconds: +best.cpu.toFixed(3),
      importCpuVsPlain: +(best.cpu / plainCpu).toFixed(1),
      acceptedSeconds: +best.accepted.toFixed(3),
      acceptedPerSecond: Math.round(rate(best.accepted)),
      storedSeconds: +best.stored.toFixed(3),
      storedPerSecond: Math.round(rate(best.stored)),
      acceptedVsPlain: +(best.accepted / plain).toFixed(1),
      storedVsPlain: +(best.stored / plain).toFixed(1),
    }),
  );
} finally {
  await bench.stop();
}
