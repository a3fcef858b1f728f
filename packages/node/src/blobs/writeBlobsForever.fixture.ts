// Test fixture for F-1: writes random blobs into the store given as argv[2] until killed.
import { randomBytes } from 'node:crypto';
import { FileBlobStore } from './FileBlobStore.ts';

const store = await FileBlobStore.open({ dir: process.argv[2] ?? '' });
process.stdout.write('ready\n');
for (;;) {
  const chunks = 1 + Math.floor(Math.random() * 64);
  async function* source() {
    for (let i = 0; i < chunks; i++) yield randomBytes(65536);
  }
  await store.put({ source: source() });
}
