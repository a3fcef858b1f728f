/**
 * Key release bench (issue 3, "Performance"; THREAT-MODEL F-10): releases/s and p50/p99 latency of
 * `POST /v1/keys/release` under load from a second process, beside a plain authenticated read of the same
 * response size (`GET /v1/blobs/{cid}` of a blob exactly as large as a release answer) in the same run.
 *
 *   npm run bench -- --only release [--requests 2000] [--concurrency 16] [--rounds 2] [--node-env NAME=VALUE]
 *
 * Setup against a real node (embedded anvil, on-disk PGlite, blob store, HTTP API): a patient imports a Synthea
 * patient with the CLI's code and shares one record with a doctor (grant on chain, confirmed). Every request is
 * signed before the clock starts, each with its own nonce (the node refuses replays), by the doctor; the load
 * generator (scripts/bench/support/loadgen.ts) runs in a child process and sends each once, `--concurrency` at a
 * time over keep-alive connections. A release verifies the EIP-712 request, claims its nonce, reads the grant
 * (chain state), writes the access-log row and answers the stanza; the baseline verifies a signed NodeRequest,
 * claims its nonce and reads a file. Per-identity rate limiting (T-24) would throttle this single grantee: start
 * the node with it off or high through `--node-env` (the run fails loudly on any 429).
 * Not a test: prints a table and a final JSON line.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { AUTH_HEADER, signKeyRequest, signNodeRequest } from '@carekey/sdk/protocol';
import type { Hex } from 'viem';
import { publishFhir } from '../../packages/cli/src/commands/publishFhir.ts';
import { share } from '../../packages/cli/src/commands/share.ts';
import {
  applyNodeEnv,
  machineLine,
  newSession,
  option,
  outboxSettled,
  printTable,
  smallestSyntheaBundle,
  startBenchNode,
  until,
} from './support/benchNode.ts';
import { type Line, type Load, runLoad } from './support/runLoad.ts';

const requestsPerRound = Number(option('requests', '2000'));
const concurrency = Number(option('concurrency', '16'));
const rounds = Number(option('rounds', '2'));

const nodeEnv = applyNodeEnv();
const bench = await startBenchNode();
const work = mkdtempSync(path.join(tmpdir(), 'carekey-bench-release-'));
try {
  const { node, url } = bench;
  const patient = await newSession(bench.dir, 'patient', url);
  const doctor = await newSession(bench.dir, 'doctor', url);
  const step = (what: string) => process.stderr.write(`release bench: ${what}\n`);
  step('importing the patient');
  const imported = await publishFhir({
    session: patient,
    file: smallestSyntheaBundle(),
    patient: patient.keys.address,
  });
  const recordId = imported.records[0]?.recordId as Hex;
  await share(patient, { records: [recordId], with: doctor.keys.address, purpose: 'TREAT', expires: '1d' });
  step('waiting for the grant on chain');
  await outboxSettled(node);
  let grantId: Hex | undefined;
  await until('the grant to be active', async () => {
    grantId = (await doctor.node.listShared()).records.find((r) => r.recordId === recordId)?.grantId;
    if (!grantId) return false;
    try {
      await doctor.node.releaseKeys({ grantId, recordIds: [recordId] });
      return true;
    } catch {
      return false; // not yet confirmed (T-5)
    }
  });
  if (!grantId) throw new Error('no grant');
  const description = await doctor.node.describe();
  const domain = await doctor.node.domain();

  const releaseLine = async (): Promise<Line> => {
    const envelope = await signKeyRequest({
      account: doctor.account,
      domain,
      audience: description.audience,
      grantId: grantId as Hex,
      recordIds: [recordId],
      lifetime: 300,
    });
    return {
      method: 'POST',
      path: '/v1/keys/release',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(envelope),
    };
  };
  // The size of one release answer, then a blob exactly that large for the baseline.
  const probe = await releaseLine();
  const answer = await fetch(`${url}${probe.path}`, {
    method: 'POST',
    headers: probe.headers,
    body: probe.body ?? '',
  });
  const answerBytes = (await answer.arrayBuffer()).byteLength;
  if (!answer.ok) throw new Error(`release probe answered ${answer.status}`);
  const blob = await doctor.node.putBlob(new Uint8Array(randomBytes(answerBytes)));
  const blobPath = `/v1/blobs/${blob.cid}`;
  const readLine = async (): Promise<Line> => ({
    method: 'GET',
    path: blobPath,
    headers: {
      accept: 'application/octet-stream',
      [AUTH_HEADER]: await signNodeRequest({
        account: doctor.account,
        domain,
        audience: description.audience,
        method: 'GET',
        path: blobPath,
        lifetime: 300,
      }),
    },
  });

  const run = (name: string, make: () => Promise<Line>, count: number): Promise<Load> =>
    runLoad({ url, work, name, make, count, concurrency, step });

  // Warm-up (JIT, connections, caches), then alternate baseline and release so both see the same machine.
  await run('warm-read', readLine, 200);
  await run('warm-release', releaseLine, 200);
  const reads: Load[] = [];
  const releases: Load[] = [];
  for (let round = 0; round < rounds; round++) {
    reads.push(await run(`read-${round}`, readLine, requestsPerRound));
    releases.push(await run(`release-${round}`, releaseLine, requestsPerRound));
  }
  const best = (loads: Load[]) => loads.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const read = best(reads);
  const release = best(releases);
  const { rows } = await node.sql.query<{ n: bigint }>(
    `select count(*) as n from access_log where action = 'release'`,
  );

  console.log(
    `${requestsPerRound} pre-signed requests per round, ${concurrency} concurrent, from a second process; best of ${rounds}; ` +
      `answers ${answerBytes} B; ${machineLine()}${Object.keys(nodeEnv).length ? `; node env ${JSON.stringify(nodeEnv)}` : ''}`,
  );
  const row = (name: string, l: Load): string[] => [
    name,
    l.perSecond.toFixed(0),
    l.p50.toFixed(1),
    l.p90.toFixed(1),
    l.p99.toFixed(1),
    l.meanBytes.toFixed(0),
    (read.perSecond / l.perSecond).toFixed(2),
    l.nodeCpuMsPerRequest?.toFixed(2) ?? '?',
    l.loadgenCpuMsPerRequest?.toFixed(2) ?? '?',
  ];
  printTable(
    [
      'request',
      'req/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'bytes',
      'cost × read',
      'node CPU ms/req',
      'loadgen CPU ms/req',
    ],
    [row('authenticated blob read (baseline)', read), row('key release', release)],
  );
  console.log(`access-log rows for releases: ${rows[0]?.n} (one per release, written before the answer)`);
  console.log(
    JSON.stringify({
      bench: 'release',
      requests: requestsPerRound,
      concurrency,
      rounds,
      answerBytes,
      loadAverage: +(loadavg()[0] ?? 0).toFixed(1),
      readPerSecond: Math.round(read.perSecond),
      readP50: +read.p50.toFixed(2),
      readP99: +read.p99.toFixed(2),
      releasePerSecond: Math.round(release.perSecond),
      releaseP50: +release.p50.toFixed(2),
      releaseP99: +release.p99.toFixed(2),
      releaseCostVsRead: +(read.perSecond / release.perSecond).toFixed(2),
      nodeEnv,
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
  await bench.stop();
}
