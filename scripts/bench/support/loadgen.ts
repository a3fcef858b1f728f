/**
 * A small HTTP load generator, run as a second process by the release bench (so the client's CPU is not the node's
 * event loop). Sends every request of a JSON-lines file exactly once (they are pre-signed with unique nonces: a
 * replay would be refused) over keep-alive connections, and prints one JSON line: count, statuses, seconds,
 * requests/s, latency quantiles (ms), mean response bytes, and the generator's own CPU per request.
 *
 *   node --import tsx scripts/bench/support/loadgen.ts <baseUrl> <requests.jsonl> <concurrency> [<rate>]
 *
 * Closed loop (no rate): `concurrency` requests in flight, each sent when one answers; the latency of each from its
 * send. Open loop (`rate` requests/s): request i is due at start + i/rate whatever the answers, on at most
 * `concurrency` connections (a request due while all are busy waits for one, first due first sent); its latency
 * counts from when it was due, so waiting behind a slow node is counted (no coordinated omission). `sendPerSecond`
 * is then the rate the generator kept up (requests due ÷ time to the last one handed out), `perSecond` the rate
 * answered.
 *
 * The generator shares the machine's cores with the node it measures, so it is kept cheap: every request is
 * serialised to its HTTP/1.1 bytes before the clock starts, written with one `write` on a plain keep-alive socket,
 * and its answer read by a minimal parser (status line, `content-length` or chunked body; a `connection: close`
 * answer opens a new socket for the next request) — no `http.Agent`, no per-request objects beyond the timing.
 *
 * Each line: {"method": "POST", "path": "/v1/keys/release", "headers": {...}, "body": "..."}.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

type Request = { method: string; path: string; headers: Record<string, string>; body?: string };
type Result = { status: number; ms: number; bytes: number };

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
if (base.protocol !== 'http:') {
  console.error(`loadgen.ts: only http:// URLs, got ${baseUrl}`);
  process.exit(2);
}
const port = Number(base.port || '80');
const concurrency = Number(concurrencyText ?? '16');
const hostHeader = base.host;
/** Every request as the bytes sent on the wire. */
const wire = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const r = JSON.parse(l) as Request;
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${hostHeader}\r\n`;
    for (const [name, value] of Object.entries(r.headers)) head += `${name}: ${value}\r\n`;
    if (body !== undefined) head += `content-length: ${body.length}\r\n`;
    head += '\r\n';
    return body === undefined ? Buffer.from(head) : Buffer.concat([Buffer.from(head), body]);
  });
const cpuAtStart = process.cpuUsage();

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * One keep-alive connection, one request at a time. `send` resolves with the answer's status, latency from `start`,
 * and body bytes; status 0 when the connection failed (it is reopened for the next request).
 */
class Connection {
  private socket: net.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private current: { start: number; resolve: (r: Result) => void } | undefined;
  // Parse state of the answer being read.
  private status = 0;
  private headerDone = false;
  private remaining = 0; // body bytes still expected (content-length), or of the current chunk
  private chunked = false;
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private closeAfter = false;
  private bytes = 0;

  send(bytes: Buffer, start: number): Promise<Result> {
    return new Promise((resolve) => {
      this.current = { start, resolve };
      this.status = 0;
      this.headerDone = false;
      this.remaining = 0;
      this.chunked = false;
      this.chunkState = 'size';
      this.closeAfter = false;
      this.bytes = 0;
      this.buffer = Buffer.alloc(0);
      const socket = this.socket ?? this.open();
      socket.write(bytes);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): net.Socket {
    const socket = net.connect({ host: base.hostname, port, noDelay: true });
    // Events of a socket this connection has let go of (closed after a `connection: close` answer) are ignored.
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    const failed = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.finish(0);
    };
    socket.on('error', failed);
    socket.on('close', failed);
    this.socket = socket;
    return socket;
  }

  private finish(status: number): void {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    if (status === 0 || this.closeAfter) this.close();
    current.resolve({ status, ms: performance.now() - current.start, bytes: this.bytes });
  }

  private onData(chunk: Buffer): void {
    if (this.current === undefined) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.headerDone) {
      const end = this.buffer.indexOf(CRLF2);
      if (end < 0) return;
      const head = this.buffer.toString('latin1', 0, end);
      this.buffer = this.buffer.subarray(end + 4);
      const lines = head.split('\r\n');
      this.status = Number(lines[0]?.split(' ')[1] ?? 0);
      let length: number | undefined;
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i] as string;
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line
          .slice(colon + 1)
          .trim()
          .toLowerCase();
        if (name === 'content-length') length = Number(value);
        else if (name === 'transfer-encoding' && value.includes('chunked')) this.chunked = true;
        else if (name === 'connection' && value === 'close') this.closeAfter = true;
      }
      this.headerDone = true;
      if (!this.chunked) this.remaining = length ?? 0;
    }
    if (!this.chunked) {
      const take = Math.min(this.remaining, this.buffer.length);
      this.bytes += take;
      this.remaining -= take;
      this.buffer = this.buffer.subarray(take);
      if (this.remaining === 0) this.finish(this.status);
      return;
    }
    // Chunked body (RFC 9112 §7.1): size line, data, CRLF, …, a zero-size chunk, then trailers up to an empty line.
    for (;;) {
      if (this.chunkState === 'size' || this.chunkState === 'trailer') {
        const eol = this.buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = this.buffer.toString('latin1', 0, eol);
        this.buffer = this.buffer.subarray(eol + 2);
        if (this.chunkState === 'trailer') {
          if (line === '') {
            this.finish(this.status);
            return;
          }
          continue;
        }
        const size = Number.parseInt(line.split(';')[0] ?? '', 16);
        if (!Number.isFinite(size)) {
          this.finish(0);
          return;
        }
        if (size === 0) this.chunkState = 'trailer';
        else {
          this.remaining = size;
          this.chunkState = 'data';
        }
      } else if (this.chunkState === 'data') {
        const take = Math.min(this.remaining, this.buffer.length);
        this.bytes += take;
        this.remaining -= take;
        this.buffer = this.buffer.subarray(take);
        if (this.remaining > 0) return;
        this.chunkState = 'crlf';
      } else {
        if (this.buffer.length < 2) return;
        this.buffer = this.buffer.subarray(2);
        this.chunkState = 'size';
      }
    }
  }
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let bytes = 0;
const record = (result: Result) => {
  latencies.push(result.ms);
  statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  bytes += result.bytes;
};
const connections = Array.from(
  { length: Math.max(1, Math.min(concurrency, wire.length)) },
  () => new Connection(),
);
let lastSent = 0;
const start = performance.now();
if (rate === undefined) {
  let next = 0;
  await Promise.all(
    connections.map(async (connection) => {
      while (next < wire.length) {
        const bytes = wire[next++] as Buffer;
        record(await connection.send(bytes, performance.now()));
      }
    }),
  );
} else {
  // Request i is due at start + i/rate. Every request due by now is handed to an idle connection or queued (first
  // due first sent), then a timer for the next one: a late timer hands out a burst, keeping the average rate.
  const idle = [...connections];
  const queue: number[] = [];
  let head = 0;
  let next = 0;
  let answered = 0;
  await new Promise<void>((resolve) => {
    const run = (connection: Connection, i: number) => {
      connection.send(wire[i] as Buffer, start + (i * 1000) / rate).then((result) => {
        record(result);
        answered++;
        if (head < queue.length) run(connection, queue[head++] as number);
        else idle.push(connection);
        if (answered === wire.length) resolve();
      });
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(wire.length, Math.floor(((now - start) * rate) / 1000) + 1);
      while (next < due) {
        const connection = idle.pop();
        if (connection === undefined) queue.push(next++);
        else run(connection, next++);
      }
      lastSent = performance.now();
      if (next < wire.length) setTimeout(tick, Math.max(0, start + (next * 1000) / rate - performance.now()));
    };
    tick();
  });
}
const seconds = (performance.now() - start) / 1000;
for (const connection of connections) connection.close();
const cpu = process.cpuUsage(cpuAtStart);
latencies.sort((a, b) => a - b);
const q = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({
    count: wire.length,
    statuses,
    seconds,
    perSecond: wire.length / seconds,
    ...(rate === undefined
      ? {}
      : { rate, sendPerSecond: (wire.length - 1) / Math.max(1e-9, (lastSent - start) / 1000) }),
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    meanBytes: bytes / Math.max(1, wire.length),
    loadgenCpuMsPerRequest: (cpu.user + cpu.system) / 1000 / Math.max(1, wire.length),
  })}\n`,
);
