// Test fixture for F-1: writes random blobs into the store given as argv[2] until killed; with argv[3] = `batch`,
// in batches of 1 to 40 payloads (`putBatch`), each streamed in small pieces.
import { createHash, randomBytes } from 'node:crypto';
import { blobIdFromDigest } from '@carekey/sdk/blobs';
import { FileBlobStore } from './FileBlobStore.ts';

const store = await FileBlobStore.open({ dir: process.argv[2] ?? '' });
const batches = process.argv[3] === 'batch';
process.stdout.write('ready\n');
for (;;) {
  if (batches) {
    const payloads = Array.from({ length: 1 + Math.floor(Math.random() * 40) }, () =>
      randomBytes(1 + Math.floor(Math.random() * 200_000)),
    );
    const entries = payloads.map((p) => ({
      id: blobIdFromDigest(createHash('sha256').update(p).digest()).id,
      size: p.length,
    }));
    async function* source() {
      for (const p of payloads)
        for (let at = 0; at < p.length; at += 16_384) yield p.subarray(at, at + 16_384);
    }
    await store.putBatch({ entries, source: source() });
    continue;
  }
  const chunks = 1 + Math.floor(Math.random() * 64);
  async function* source() {
    for (let i = 0; i < chunks; i++) yield randomBytes(65536);
  }
  await store.put({ source: source() });
}
