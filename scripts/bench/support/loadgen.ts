/**
 * A small HTTP load generator, run as a second process by the release bench (so the client's CPU is not the node's
 * event loop). Sends every request of a JSON-lines file exactly once (they are pre-signed with unique nonces: a
 * replay would be refused) over keep-alive connections, and prints one JSON line: count, statuses, seconds,
 * requests/s, latency quantiles (ms) and mean response bytes.
 *
 *   node --import tsx scripts/bench/support/loadgen.ts <baseUrl> <requests.jsonl> <concurrency> [<rate>]
 *
 * Closed loop (no rate): `concurrency` requests in flight, each sent when one answers; the latency of each from its
 * send. Open loop (`rate` requests/s): request i is due at start + i/rate whatever the answers, on at most
 * `concurrency` connections (a request due while all are busy waits for one); its latency counts from when it was
 * due, so waiting behind a slow node is counted (no coordinated omission). `sendPerSecond` is then the rate the
 * generator kept up (requests sent ÷ time to the last send), `perSecond` the rate answered.
 *
 * Each line: {"method": "POST", "path": "/v1/keys/release", "headers": {...}, "body": "..."}.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

type Request = { method: string; path: string; headers: Record<string, string>; body?: string };

const [baseUrl, file, concurrencyText, rateText] = process.argv.slice(2);
if (!baseUrl || !file) {
  console.error('usage: loadgen.ts <baseUrl> <requests.jsonl> <concurrency> [<rate>]');
  process.exit(2);
}
const rate = rateText === undefined ? undefined : Number(rateText);
if (rate !== undefined && !(rate > 0)) {
  console.error(`loadgen.ts: rate must be a positive number of requests per second, got "${rateText}"`);
  process.exit(2);
}
const base = new URL(baseUrl);
const concurrency = Number(concurrencyText ?? '16');
const requests = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Request);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

/** Sends one request; its latency counts from `start` (now, or when it was due in an open loop). */
function send(
  request: Request,
  start = performance.now(),
): Promise<{ status: number; ms: number; bytes: number }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path,
        agent,
        headers: {
          ...request.headers,
          ...(request.body !== undefined ? { 'content-length': Buffer.byteLength(request.body) } : {}),
        },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start, bytes }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - start, bytes: 0 }));
    req.end(request.body);
  });
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let bytes = 0;
let next = 0;
let lastSent = 0;
const start = performance.now();
const record = (result: { status: number; ms: number; bytes: number }) => {
  latencies.push(result.ms);
  statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  bytes += result.bytes;
};
if (rate === undefined) {
  await Promise.all(
    Array.from({ length: Math.min(concurrency, requests.length) }, async () => {
      while (next < requests.length) {
        const request = requests[next++] as Request;
        record(await send(request));
      }
    }),
  );
} else {
  // Every request due by now is handed to the agent (which queues it when all connections are busy), then a
  // timer for the next one: a late timer sends a burst, keeping the average rate.
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(requests.length, Math.floor(((now - start) * rate) / 1000) + 1);
      while (next < due) {
        const at = start + (next * 1000) / rate;
        pending.push(send(requests[next++] as Request, at).then(record));
      }
      lastSent = performance.now();
      if (next >= requests.length) resolve();
      else setTimeout(tick, Math.max(0, start + (next * 1000) / rate - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
}
const seconds = (performance.now() - start) / 1000;
agent.destroy();
latencies.sort((a, b) => a - b);
const q = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({
    count: requests.length,
    statuses,
    seconds,
    perSecond: requests.length / seconds,
    ...(rate === undefined
      ? {}
      : { rate, sendPerSecond: (requests.length - 1) / Math.max(1e-9, (lastSent - start) / 1000) }),
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    meanBytes: bytes / Math.max(1, requests.length),
  })}\n`,
);
