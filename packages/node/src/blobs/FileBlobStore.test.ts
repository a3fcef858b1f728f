import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobIdFromDigest } from '@carekey/sdk/blobs';
import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobStoreError,
  InvalidBlobIdError,
} from '@carekey/sdk/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlobStore } from './FileBlobStore.ts';

const root = mkdtempSync(join(tmpdir(), 'carekey-blobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshStore = (maxBlobBytes?: number) =>
  FileBlobStore.open({ dir: join(root, `s${n++}`), ...(maxBlobBytes ? { maxBlobBytes } : {}) });

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

describe('FileBlobStore', () => {
  it('stores by content id, streams back the same bytes, and dedups', async () => {
    const store = await freshStore();
    const data = randomBytes(300_000);
    const put = await store.put({ source: data });
    expect(put.id).toBe(blobIdFromDigest(createHash('sha256').update(data).digest()).id);
    expect(put).toMatchObject({ size: data.length, created: true });
    expect(await readAll(store.get(put.id))).toEqual(data);
    expect(await store.has(put.id)).toBe(true);
    expect(await store.size(put.id)).toBe(data.length);
    expect((await store.put({ source: data })).created).toBe(false);
  });

  it('streams a source of many chunks and checks an expected id', async () => {
    const store = await freshStore();
    const parts = Array.from({ length: 20 }, () => randomBytes(70_000));
    const id = blobIdFromDigest(createHash('sha256').update(Buffer.concat(parts)).digest()).id;
    async function* source() {
      yield* parts;
    }
    expect((await store.put({ source: source(), expectedId: id })).id).toBe(id);
    const other = blobIdFromDigest(new Uint8Array(32)).id;
    await expect(store.put({ source: randomBytes(10), expectedId: other })).rejects.toThrow(
      BlobIntegrityError,
    );
    expect(await store.has(other)).toBe(false);
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
  });

  it('R-7 detects a tampered stored blob on read', async () => {
    const store = await freshStore();
    const data = randomBytes(5000);
    const { id } = await store.put({ source: data });
    const path = join(store.dir, id.slice(-2), id);
    const tampered = Buffer.from(data);
    tampered[1234] = (tampered[1234] ?? 0) ^ 0x01;
    writeFileSync(path, tampered);
    await expect(readAll(store.get(id))).rejects.toThrow(BlobIntegrityError);
    expect(await store.verifyAll()).toEqual({ checked: 1, damaged: [id] });
  });

  it('T-20 refuses path traversal and non-CID ids before touching the disk', async () => {
    const store = await freshStore();
    for (const id of ['../../etc/passwd', '%2e%2e%2f', 'tmp', '..', 'bafkrei/../../x', '\0']) {
      await expect(store.has(id)).rejects.toThrow(InvalidBlobIdError);
      await expect(readAll(store.get(id))).rejects.toThrow(InvalidBlobIdError);
    }
  });

  it('refuses oversized payloads and stores nothing', async () => {
    const store = await freshStore(1000);
    await expect(store.put({ source: randomBytes(1001) })).rejects.toThrow(BlobStoreError);
    expect(readdirSync(store.dir)).toEqual(['tmp']);
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
    await expect(readAll(store.get(blobIdFromDigest(new Uint8Array(32)).id))).rejects.toThrow(
      BlobNotFoundError,
    );
  });

  it('F-1 kill -9 during uploads never leaves a blob whose bytes differ from its id', async () => {
    const dir = join(root, 'killed');
    const fixture = join(import.meta.dirname, 'writeBlobsForever.fixture.ts');
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 600));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const store = await FileBlobStore.open({ dir });
    const { checked, damaged } = await store.verifyAll();
    expect(checked).toBeGreaterThan(0);
    expect(damaged).toEqual([]);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });
});
