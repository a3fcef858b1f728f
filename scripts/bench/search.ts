/**
 * FHIR search bench (issue 4, "Performance"): FHIR search on a patient with 10,000 resources through the gateway's
 * FHIR API (`carekey gateway`), beside the same query on the plain store, in the same run.
 *
 *   npm run bench -- --only search [--resources 10000] [--requests 100]
 *
 * The patient: the 25 Synthea bundles validated and split (`validateMany`, as `carekey import`), every patient
 * reference pointed at one Patient, and the resources repeated under fresh ids up to `--resources`. They are put
 * in a real `GatewayStore` (the class `carekey gateway` serves; as a sync leaves it: record id, custodian, category,
 * clinical date) and served by `createGatewayServer` with a `user/*.rs` bearer token, against a real node (the
 * gateway reads its node description and grants from it). Each query is sent `--requests` times over HTTP, one at
 * a time, after a warm-up; p50/p99 of the full answer (searchset Bundle with `total` and the first page of 50).
 *
 * Baseline: the same resources as jsonb rows in the node's own PGlite with a GIN index (`jsonb_path_ops`), the
 * same filters as a containment query plus a date comparison, `count(*) over ()` for the total, first 50 rows in
 * date order. The totals of both must agree or the bench fails. Not a test: prints a table and a JSON line.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { bytesToHex } from 'viem';
import { issueGatewayToken } from '../../packages/cli/src/gateway/auth/gatewayToken.ts';
import { createGatewayServer } from '../../packages/cli/src/gateway/server/createGatewayServer.ts';
import {
  GatewayStore,
  gatewayStoreFile,
  OWN_RECORD_GRANT,
  type StoredRecord,
} from '../../packages/cli/src/gateway/store/openGatewayStore.ts';
import { didOf } from '../../packages/cli/src/home/nodeFacts.ts';
import { blobIdFromDigest } from '../../packages/sdk/src/blobs/index.ts';
import { FhirWorkerPool, validateMany } from '../../packages/sdk/src/fhir/node/index.ts';
import {
  machineLine,
  newSession,
  option,
  printTable,
  quantile,
  startBenchNode,
} from './support/benchNode.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bundlesDir = path.join(repoRoot, '../shared/data/synthea/bundles');
const wanted = Number(option('resources', '10000'));
const requests = Number(option('requests', '100'));
const step = (what: string) => console.error(`[search ${new Date().toISOString().slice(11, 19)}] ${what}`);

step('starting the node');
const bench = await startBenchNode();
const pool = new FhirWorkerPool({ threads: 2 });
let closeGateway: (() => Promise<void>) | undefined;
try {
  const { node } = bench;
  const session = await newSession(bench.dir, 'patient', bench.url);
  const { chainId } = await session.node.describe();
  const custodian = didOf(session.keys.address, chainId);

  step('validating the Synthea bundles');
  const files = readdirSync(bundlesDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const { results } = await validateMany({
    inputs: files.map((f) => readFileSync(path.join(bundlesDir, f))),
    pool,
    custodian,
  });
  const records = results.flatMap((r, i) => {
    if (!r.ok) throw new Error(`${files[i]} was refused: ${String(r.error)}`);
    return r.records;
  });
  // One patient: the first Patient kept, every reference to another patient pointed at it.
  const patients = records.filter((r) => r.resourceType === 'Patient');
  const patientId = patients[0]?.id as string;
  const others = new Set(patients.slice(1).map((p) => `"Patient/${p.id}"`));
  const pattern = new RegExp(
    [...others].map((o) => o.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')).join('|'),
    'gu',
  );
  const base = records.filter((r) => r.resourceType !== 'Patient');
  const resources: { record: (typeof records)[number]; resource: Resource }[] = [
    { record: patients[0] as (typeof records)[number], resource: patients[0]?.resource as Resource },
  ];
  for (let round = 0; resources.length < wanted; round++) {
    for (const record of base) {
      if (resources.length >= wanted) break;
      const resource = JSON.parse(
        JSON.stringify(record.resource).replace(pattern, `"Patient/${patientId}"`),
      ) as Resource;
      if (round > 0) resource.id = `${record.id}-${round}`;
      resources.push({ record, resource });
    }
  }
  const stored: StoredRecord[] = resources.map(({ record, resource }) => ({
    recordId: bytesToHex(randomBytes(32)),
    blobId: blobIdFromDigest(randomBytes(32)).id,
    patient: session.keys.address,
    custodian,
    resourceType: resource.resourceType,
    fhirId: resource.id as string,
    category: record.category,
    clinicalDate: record.clinicalDate ?? null,
    grantId: OWN_RECORD_GRANT,
    sha256: record.sha256,
    syncedAt: new Date().toISOString(),
    resource,
  }));
  const store = new GatewayStore(
    gatewayStoreFile(session.home),
    session.keys.address,
    session.keys.recipient,
    {
      kind: 'carekey-gateway-store',
      version: 1,
      owner: session.keys.address,
      syncedAt: null,
      records: stored,
    },
  );

  // The most frequent LOINC code among the patient's observations: the query a clinician's app repeats.
  const codes = new Map<string, number>();
  for (const { resource } of resources) {
    if (resource.resourceType !== 'Observation') continue;
    const code = resource.code?.coding?.find((c) => c.system === 'http://loinc.org')?.code;
    if (code !== undefined) codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  const [topCode = ''] = [...codes].sort((a, b) => b[1] - a[1])[0] ?? [];

  step(`serving ${stored.length} resources; plain store rows`);
  const gateway = await createGatewayServer({ session, store, port: 0, syncIntervalMs: 0 });
  closeGateway = () => gateway.close();
  const { token } = await issueGatewayToken({
    privateKey: session.keys.privateKey,
    owner: session.keys.address,
    client: 'bench',
    scope: 'user/*.rs',
    expiresIn: 3600,
  });

  await node.sql.exec(
    'create table bench_plain_resources (id bigserial primary key, resource jsonb not null)',
  );
  await node.sql.transaction(async (tx) => {
    for (const { resource } of resources)
      await tx.query('insert into bench_plain_resources (resource) values ($1::jsonb)', [
        JSON.stringify(resource),
      ]);
  });
  await node.sql.exec(
    'create index bench_plain_gin on bench_plain_resources using gin (resource jsonb_path_ops); analyze bench_plain_resources',
  );

  const subject = { reference: `Patient/${patientId}` };
  const queries: { name: string; fhir: string; contains: unknown; dateFrom?: string; dateField: string }[] = [
    {
      name: `Observation by patient and code (LOINC ${topCode})`,
      fhir: `/Observation?patient=${patientId}&code=http://loinc.org|${topCode}`,
      contains: {
        resourceType: 'Observation',
        subject,
        code: { coding: [{ system: 'http://loinc.org', code: topCode }] },
      },
      dateField: 'effectiveDateTime',
    },
    {
      name: 'Observation by patient, category laboratory, date ≥ 2015',
      fhir: `/Observation?patient=${patientId}&category=laboratory&date=ge2015-01-01`,
      contains: { resourceType: 'Observation', subject, category: [{ coding: [{ code: 'laboratory' }] }] },
      dateFrom: '2015-01-01',
      dateField: 'effectiveDateTime',
    },
    {
      name: 'Condition by patient',
      fhir: `/Condition?patient=${patientId}`,
      contains: { resourceType: 'Condition', subject },
      dateField: 'onsetDateTime',
    },
  ];

  const timed = async (run: () => Promise<number>) => {
    for (let i = 0; i < 5; i++) await run();
    const ms: number[] = [];
    let total = 0;
    for (let i = 0; i < requests; i++) {
      const start = performance.now();
      total = await run();
      ms.push(performance.now() - start);
    }
    ms.sort((a, b) => a - b);
    return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), total };
  };
  const rows: string[][] = [];
  const out: Record<string, unknown>[] = [];
  for (const q of queries) {
    step(q.name);
    const viaGateway = await timed(async () => {
      const response = await fetch(`${gateway.url}${q.fhir}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.status !== 200) throw new Error(`${q.fhir}: ${response.status} ${await response.text()}`);
      return ((await response.json()) as Bundle).total ?? -1;
    });
    const sql = `select resource, count(*) over () as total from bench_plain_resources
      where resource @> $1::jsonb ${q.dateFrom === undefined ? '' : `and resource->>'${q.dateField}' >= $2`}
      order by resource->>'${q.dateField}' limit 50`;
    const params = [JSON.stringify(q.contains), ...(q.dateFrom === undefined ? [] : [q.dateFrom])];
    const plain = await timed(async () => {
      const { rows: found } = await node.sql.query<{ total: bigint }>(sql, params);
      return Number(found[0]?.total ?? 0n);
    });
    if (plain.total !== viaGateway.total)
      throw new Error(`${q.name}: the gateway found ${viaGateway.total}, the plain store ${plain.total}`);
    rows.push(
      [
        `${q.name}: plain store (baseline)`,
        String(plain.total),
        plain.p50.toFixed(1),
        plain.p99.toFixed(1),
        '1.0',
        '1.0',
      ],
      [
        `${q.name}: gateway FHIR API`,
        String(viaGateway.total),
        viaGateway.p50.toFixed(1),
        viaGateway.p99.toFixed(1),
        (viaGateway.p50 / plain.p50).toFixed(1),
        (viaGateway.p99 / plain.p99).toFixed(1),
      ],
    );
    out.push({
      query: q.fhir.replace(patientId, '{patient}'),
      matches: plain.total,
      plainP50: +plain.p50.toFixed(2),
      plainP99: +plain.p99.toFixed(2),
      gatewayP50: +viaGateway.p50.toFixed(2),
      gatewayP99: +viaGateway.p99.toFixed(2),
      p50VsPlain: +(viaGateway.p50 / plain.p50).toFixed(2),
      p99VsPlain: +(viaGateway.p99 / plain.p99).toFixed(2),
    });
  }
  console.log(
    `one patient, ${stored.length} resources; ${requests} requests per query, one at a time; ${machineLine()}`,
  );
  printTable(['query', 'matches', 'p50 ms', 'p99 ms', 'p50 × plain', 'p99 × plain'], rows);
  console.log(
    JSON.stringify({
      bench: 'search',
      resources: stored.length,
      requests,
      loadAverage: +(loadavg()[0] ?? 0).toFixed(1),
      queries: out,
    }),
  );
} finally {
  await closeGateway?.();
  await pool.close();
  await bench.stop();
}
