/**
 * A small HTTP load generator, run as a second process by the release bench (so the client's CPU is not the node's
 * event loop). Sends every request of a JSON-lines file exactly once (they are pre-signed with unique nonces: a
 * replay would be refused), `concurrency` at a time over keep-alive connections, and prints one JSON line: count,
 * statuses, seconds, requests/s, latency quantiles (ms) and mean response bytes.
 *
 *   node --import tsx scripts/bench/support/loadgen.ts <baseUrl> <requests.jsonl> <concurrency>
 *
 * Each line: {"method": "POST", "path": "/v1/keys/release", "headers": {...}, "body": "..."}.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

type Request = { method: string; path: string; headers: Record<string, string>; body?: string };

const [baseUrl, file, concurrencyText] = process.argv.slice(2);
if (!baseUrl || !file) {
  console.error('usage: loadgen.ts <baseUrl> <requests.jsonl> <concurrency>');
  process.exit(2);
}
const base = new URL(baseUrl);
const concurrency = Number(concurrencyText ?? '16');
const requests = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Request);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function send(request: Request): Promise<{ status: number; ms: number; bytes: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
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
const start = performance.now();
await Promise.all(
  Array.from({ length: Math.min(concurrency, requests.length) }, async () => {
    while (next < requests.length) {
      const request = requests[next++] as Request;
      const result = await send(request);
      latencies.push(result.ms);
      statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      bytes += result.bytes;
    }
  }),
);
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
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    meanBytes: bytes / Math.max(1, requests.length),
  })}\n`,
);
