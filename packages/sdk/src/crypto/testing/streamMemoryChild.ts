/**
 * Child process for the constant-memory test: pushes SIZE bytes generated on
 * the fly through encryptStream → decryptStream (web streams), hashes what
 * comes out, and samples RSS. Prints one JSON line.
 */
import { createHash } from 'node:crypto';
import { decryptStream } from '../decrypt.ts';
import { encryptStream } from '../encrypt.ts';
import { nodeCryptoBackend } from '../node/index.ts';
import { X25519Identity } from '../x25519.ts';

const size = Number(process.argv[2] ?? 256 * 2 ** 20);
const PIECE = 1 << 20;
const identity = X25519Identity.generate();

function pieceAt(index: number): Uint8Array {
  const piece = new Uint8Array(PIECE);
  new DataView(piece.buffer).setUint32(0, index); // distinct pieces, cheap to make
  piece.fill(index & 255, 4);
  return piece;
}

let produced = 0;
const expected = createHash('sha256');
const source = new ReadableStream<Uint8Array>({
  pull(controller) {
    if (produced >= size) {
      controller.close();
      return;
    }
    const piece = pieceAt(produced / PIECE).subarray(0, Math.min(PIECE, size - produced));
    produced += piece.length;
    expected.update(piece);
    controller.enqueue(piece);
  },
});

globalThis.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);

const start = performance.now();
const actual = createHash('sha256');
let received = 0;
const plaintext = source
  .pipeThrough(encryptStream({ recipients: [identity.recipient], backend: nodeCryptoBackend }))
  .pipeThrough(decryptStream({ identities: [identity], backend: nodeCryptoBackend }));
const reader = plaintext.getReader();
for (;;) {
  const { done, value: part } = await reader.read();
  if (done) break;
  actual.update(part);
  received += part.length;
  peak = Math.max(peak, process.memoryUsage().rss);
}
clearInterval(timer);
const seconds = (performance.now() - start) / 1000;
process.stdout.write(
  `${JSON.stringify({
    size,
    received,
    hashMatches: actual.digest('hex') === expected.digest('hex'),
    baselineMiB: baseline / 2 ** 20,
    peakMiB: peak / 2 ** 20,
    growthMiB: (peak - baseline) / 2 ** 20,
    MBps: size / 1e6 / seconds,
  })}\n`,
);
