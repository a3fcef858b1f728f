/**
 * Import-all bench (issue 4, "Performance"): every Synthea patient imported end to end against a real node, beside
 * inserting the same resources as plain JSON rows into the same SQL store.
 *
 *   npm run bench -- --only importAll [--patients 25] [--threads 2] [--chain-timeout 300]
 *
 * End to end = what `carekey import` does, for all patients at once, in this process against a real node (embedded
 * anvil, on-disk PGlite, blob store, HTTP API): validate and split every bundle on all cores (`FhirWorkerPool`,
 * custodian stamped), encrypt each record (age, fresh file key), upload each payload, wrap the key, sign and post
 * one batch per ≤ 1,000 records (`publishItems`, the CLI's code); then the node relays each batch (one chain write
 * per batch) and its indexer links every record to it. Times: validation alone, until the node accepted every batch,
 * and until every record is on chain and indexed. The worker pool is warmed before timing (definitions load once
 * per thread, ~1 s each; a gateway keeps its pool).
 *
 * Baseline: the same resources, `JSON.stringify`'d, one jsonb row each, in one transaction of the node's own PGlite
 * while the node runs. Not a test: prints a table and a final JSON line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itemsOfRecords, publishItems } from '../../packages/cli/src/commands/publishFhir.ts';
import { didOf } from '../../packages/cli/src/home/nodeFacts.ts';
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
const patients = Number(option('patients', '25'));
const threads = Number(option('threads', '2'));
const files = readdirSync(bundlesDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .slice(0, patients);
const inputs = files.map((f) => readFileSync(path.join(bundlesDir, f)));
const bytes = inputs.reduce((n, b) => n + b.length, 0);
const resources = inputs.flatMap((b) =>
  (JSON.parse(b.toString('utf8')) as { entry: { resource: unknown }[] }).entry.map((e) => e.resource),
);

const step = (what: string) => console.error(`[importAll ${new Date().toISOString().slice(11, 19)}] ${what}`);
step('starting the node');
const bench = await startBenchNode();
const pool = new FhirWorkerPool({ threads });
try {
  const { node } = bench;
  const session = await newSession(bench.dir, 'patient', bench.url);
  const description = await session.node.describe();
  const custodian = didOf(session.keys.address, description.chainId);
  await outboxSettled(node);
  step('node ready, wallet made; warming the pool');
  // Warm every thread of the pool (R4 definitions indexed once per thread).
  const warmStart = performance.now();
  await Promise.all(
    Array.from({ length: pool.threads }, () => pool.split('{"resourceType":"Basic","code":{"text":"warm"}}')),
  );
  const warm = since(warmStart);

  step('validating');
  const start = performance.now();
  const { results } = await validateMany({ inputs, pool, custodian });
  const validated = since(start);
  const records = results.flatMap((r, i) => {
    if (!r.ok) throw new Error(`${files[i]} was refused: ${String(r.error)}`);
    return r.records;
  });
  step(`validated ${records.length} records; publishing`);
  const published = await publishItems({
    session,
    patient: session.keys.address,
    items: itemsOfRecords(records),
    source: `${files.length} Synthea bundles`,
  });
  const accepted = since(start);
  step('accepted; waiting for the chain and the indexer');
  const roots = published.batches.map((b) => Buffer.from(b.root.slice(2), 'hex'));
  // The chain leg (relay, block, indexer) is waited for at most --chain-timeout seconds: on a saturated machine
  // it can lag far behind; the figure is then reported as null with the outbox's state.
  const chainTimeout = Number(option('chain-timeout', '300')) * 1000;
  let stored: number | null = null;
  try {
    await until(
      'every batch on chain and indexed',
      async () => {
        const { rows } = await node.sql.query<{ n: bigint }>(
          'select count(*) as n from records where batch_root = any($1) and batch_id is not null',
          [roots],
        );
        return Number(rows[0]?.n ?? 0n) === published.records.length;
      },
      chainTimeout,
    );
    stored = since(start);
  } catch (error) {
    const { rows } = await node.sql.query<{ status: string; n: bigint }>(
      'select status, count(*) as n from outbox group by status',
    );
    step(`${String(error)}; outbox: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}`);
  }
  if (published.records.length !== resources.length)
    throw new Error(`imported ${published.records.length} records, the bundles have ${resources.length}`);

  // Baseline: the same resources as plain JSON rows in the same store (the node's PGlite, node running).
  await node.sql.exec(
    'create table bench_plain_resources (id bigserial primary key, resource jsonb not null)',
  );
  const plainStart = performance.now();
  await node.sql.transaction(async (tx) => {
    for (const resource of resources)
      await tx.query('insert into bench_plain_resources (resource) values ($1)', [JSON.stringify(resource)]);
  });
  const plain = since(plainStart);
  const { rows } = await node.sql.query<{ n: bigint }>('select count(*) as n from bench_plain_resources');
  if (Number(rows[0]?.n) !== resources.length) throw new Error('the plain insert lost rows');
  await node.sql.exec('drop table bench_plain_resources');

  const rate = (seconds: number) => resources.length / seconds;
  console.log(
    `${files.length} Synthea bundles: ${resources.length} resources, ${(bytes / 1e6).toFixed(1)} MB, ` +
      `${published.batches.length} batches (chain writes); pool of ${pool.threads} warmed in ${warm.toFixed(1)} s; ${machineLine()}`,
  );
  printTable(
    ['step', 'seconds', 'resources/s', '× plain insert'],
    [
      ['plain JSON rows, same PGlite (baseline)', plain.toFixed(2), rate(plain).toFixed(0), '1.0'],
      [
        'validate + split, worker pool',
        validated.toFixed(2),
        rate(validated).toFixed(0),
        (validated / plain).toFixed(1),
      ],
      [
        'import until the node accepted',
        accepted.toFixed(2),
        rate(accepted).toFixed(0),
        (accepted / plain).toFixed(1),
      ],
      stored === null
        ? ['import until on chain + indexed', 'timeout', '-', '-']
        : [
            'import until on chain + indexed',
            stored.toFixed(2),
            rate(stored).toFixed(0),
            (stored / plain).toFixed(1),
          ],
    ],
  );
  console.log(
    JSON.stringify({
      bench: 'importAll',
      bundles: files.length,
      resources: resources.length,
      bytes,
      batches: published.batches.length,
      threads: pool.threads,
      loadAverage: +(loadavg()[0] ?? 0).toFixed(1),
      warmSeconds: +warm.toFixed(2),
      plainSeconds: +plain.toFixed(3),
      plainPerSecond: Math.round(rate(plain)),
      validateSeconds: +validated.toFixed(3),
      validatePerSecond: Math.round(rate(validated)),
      acceptedSeconds: +accepted.toFixed(3),
      acceptedPerSecond: Math.round(rate(accepted)),
      storedSeconds: stored === null ? null : +stored.toFixed(3),
      storedPerSecond: stored === null ? null : Math.round(rate(stored)),
      acceptedVsPlain: +(accepted / plain).toFixed(2),
      storedVsPlain: stored === null ? null : +(stored / plain).toFixed(2),
    }),
  );
} finally {
  await pool.close();
  await bench.stop();
}
