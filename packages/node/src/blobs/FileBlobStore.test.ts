import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobIdFromDigest } from '@carekey/sdk/blobs';
import {
  BlobBatchError,
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
const freshStore = (maxBlobBytes?: number, maxBatchBytes?: number) =>
  FileBlobStore.open({
    dir: join(root, `s${n++}`),
    ...(maxBlobBytes ? { maxBlobBytes } : {}),
    ...(maxBatchBytes ? { maxBatchBytes } : {}),
  });
const cidOf = (bytes: Uint8Array) => blobIdFromDigest(createHash('sha256').update(bytes).digest()).id;

/** The payloads back to back, cut into pieces that straddle payload boundaries (as an HTTP body arrives). */
async function* concatenated(payloads: readonly Uint8Array[], piece = 7_919): AsyncGenerator<Uint8Array> {
  const all = Buffer.concat(payloads);
  for (let at = 0; at < all.length; at += piece) yield all.subarray(at, at + piece);
}

/** Every blob file of a store (not the temp folder). */
function storedFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => d !== 'tmp')
    .flatMap((d) => readdirSync(join(dir, d)));
}

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
    expect(readdirSync(store.dir).sort()).toEqual(['packs', 'tmp']);
    expect(readdirSync(join(store.dir, 'packs'))).toEqual([]);
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
    await expect(readAll(store.get(blobIdFromDigest(new Uint8Array(32)).id))).rejects.toThrow(
      BlobNotFoundError,
    );
  });

  it('stores a batch streamed back to back as one pack file, each payload under its id, read again after a reopen; again is harmless (created: false)', async () => {
    const store = await freshStore();
    const payloads = [randomBytes(5000), randomBytes(0), randomBytes(70_000), randomBytes(1)];
    const entries = payloads.map((p) => ({ id: cidOf(p), size: p.length }));
    const stored = await store.putBatch({ entries, source: concatenated(payloads) });
    expect(stored.map((b) => [b.id, b.size, b.created])).toEqual(entries.map((e) => [e.id, e.size, true]));
    expect(readdirSync(store.dir).sort()).toEqual(['packs', 'tmp']);
    expect(readdirSync(join(store.dir, 'packs'))).toHaveLength(1);
    const reopened = await FileBlobStore.open({ dir: store.dir });
    for (const s of [store, reopened]) {
      for (const [i, p] of payloads.entries()) {
        const id = entries[i]?.id ?? '';
        expect(await s.has(id)).toBe(true);
        expect(await s.size(id)).toBe(p.length);
        expect(await readAll(s.get(id))).toEqual(p);
      }
    }
    const again = await reopened.putBatch({ entries, source: concatenated(payloads, 65_536) });
    expect(again.every((b) => !b.created)).toBe(true);
    expect(readdirSync(join(store.dir, 'packs'))).toHaveLength(1);
    expect(await reopened.verifyAll()).toEqual({ checked: 4, damaged: [] });
    expect(readdirSync(join(store.dir, 'tmp'))).toEqual([]);
  });

  it('reads a store of the loose layout of before the packs as it is (no migration); a batch stores only what it lacks', async () => {
    // The layout every earlier node wrote, put and putBatch alike: <dir>/<last two characters>/<id>.
    const dir = join(root, 'loose-layout');
    const old = [randomBytes(3000), randomBytes(10)];
    for (const p of old) {
      const id = cidOf(p);
      mkdirSync(join(dir, id.slice(-2)), { recursive: true });
      writeFileSync(join(dir, id.slice(-2), id), p);
    }
    const store = await FileBlobStore.open({ dir });
    for (const p of old) {
      expect(await store.has(cidOf(p))).toBe(true);
      expect(await store.size(cidOf(p))).toBe(p.length);
      expect(await readAll(store.get(cidOf(p)))).toEqual(p);
    }
    const added = randomBytes(2000);
    const payloads = [old[0], added, old[1]] as Buffer[];
    const stored = await store.putBatch({
      entries: payloads.map((p) => ({ id: cidOf(p), size: p.length })),
      source: concatenated(payloads),
    });
    expect(stored.map((b) => b.created)).toEqual([false, true, false]);
    const [pack] = readdirSync(join(dir, 'packs'));
    // The pack holds its header and the one payload it lacked, nothing of the two already stored.
    expect(statSync(join(dir, 'packs', pack ?? '')).size).toBe(12 + 40 + 32 + added.length);
    expect(await readAll(store.get(cidOf(added)))).toEqual(added);
    expect((await store.put({ source: added })).created).toBe(false);
    expect(await (await FileBlobStore.open({ dir })).verifyAll()).toEqual({ checked: 3, damaged: [] });
  });

  it('F-1 a batch cut short — a temp pack left by a crash, a pack torn or damaged on disk — is never served as complete', async () => {
    const store = await freshStore();
    const payloads = [randomBytes(4000), randomBytes(6000), randomBytes(5000)];
    const ids = payloads.map(cidOf);
    const entries = payloads.map((p, i) => ({ id: ids[i] ?? '', size: p.length }));
    await store.putBatch({ entries, source: concatenated(payloads) });
    const [name] = readdirSync(join(store.dir, 'packs'));
    const pack = join(store.dir, 'packs', name ?? '');
    const bytes = readFileSync(pack);
    const header = 12 + 3 * 40 + 32;

    // Killed before the rename: the half-written pack is in tmp/ only; opening removes it, nothing is served.
    const crashed = join(root, 'crashed-pack');
    mkdirSync(join(crashed, 'tmp'), { recursive: true });
    writeFileSync(join(crashed, 'tmp', 'x.pack'), bytes.subarray(0, header + 5000));
    const afterCrash = await FileBlobStore.open({ dir: crashed });
    expect(readdirSync(join(crashed, 'tmp'))).toEqual([]);
    for (const id of ids) expect(await afterCrash.has(id)).toBe(false);
    expect(await afterCrash.verifyAll()).toEqual({ checked: 0, damaged: [] });

    // Cut inside the second payload: the first is served, the second and third are not, and verifyAll names them.
    truncateSync(pack, header + 4000 + 3000);
    const torn = await FileBlobStore.open({ dir: store.dir });
    expect(await readAll(torn.get(ids[0] ?? ''))).toEqual(payloads[0]);
    for (const id of ids.slice(1)) {
      expect(await torn.has(id)).toBe(false);
      await expect(readAll(torn.get(id))).rejects.toThrow(BlobNotFoundError);
    }
    expect(await torn.verifyAll()).toEqual({ checked: 1, damaged: ids.slice(1) });

    // A damaged header (one bit): none of the pack is served; verifyAll names the pack.
    const flipped = Buffer.from(bytes);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    writeFileSync(pack, flipped);
    const damaged = await FileBlobStore.open({ dir: store.dir });
    for (const id of ids) expect(await damaged.has(id)).toBe(false);
    expect(await damaged.verifyAll()).toEqual({ checked: 0, damaged: [name] });
    // The same batch again is stored whole, in a pack of its own header's name (the damaged one replaced).
    const retried = await damaged.putBatch({ entries, source: concatenated(payloads) });
    expect(retried.every((b) => b.created)).toBe(true);
    expect(await (await FileBlobStore.open({ dir: store.dir })).verifyAll()).toEqual({
      checked: 3,
      damaged: [],
    });
  });

  it("R-7 detects a payload tampered inside a pack on read; the pack's other payloads still read", async () => {
    const store = await freshStore();
    const payloads = [randomBytes(4000), randomBytes(6000)];
    const ids = payloads.map(cidOf);
    await store.putBatch({
      entries: payloads.map((p, i) => ({ id: ids[i] ?? '', size: p.length })),
      source: concatenated(payloads),
    });
    const [name] = readdirSync(join(store.dir, 'packs'));
    const pack = join(store.dir, 'packs', name ?? '');
    const bytes = readFileSync(pack);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    writeFileSync(pack, bytes);
    await expect(readAll(store.get(ids[1] ?? ''))).rejects.toThrow(BlobIntegrityError);
    expect(await readAll(store.get(ids[0] ?? ''))).toEqual(payloads[0]);
    expect(await store.verifyAll()).toEqual({ checked: 2, damaged: [ids[1]] });
  });

  it('T-19 refuses a whole batch — one payload that does not hash to its id, a truncated or over-long body, too large, an id twice — and stores none of it', async () => {
    const store = await freshStore(100_000, 150_000);
    const good = [randomBytes(3000), randomBytes(4000), randomBytes(5000)];
    const entries = good.map((p) => ({ id: cidOf(p), size: p.length }));
    const flipped = good.map((p) => Buffer.from(p));
    const last = flipped[2] as Buffer;
    last[10] = (last[10] ?? 0) ^ 1;
    const cases: [string, Parameters<FileBlobStore['putBatch']>[0], string][] = [
      ['one bad payload', { entries, source: concatenated(flipped) }, 'hash-mismatch'],
      [
        'truncated',
        { entries, source: concatenated([good[0], good[1], good[2]?.subarray(0, 4999)] as Buffer[]) },
        'truncated',
      ],
      ['trailing bytes', { entries, source: concatenated([...good, randomBytes(1)]) }, 'trailing-bytes'],
      [
        'a payload too large',
        { entries: [{ id: cidOf(randomBytes(8)), size: 100_001 }], source: concatenated([]) },
        'too-large',
      ],
      [
        'the batch too large',
        {
          entries: [0, 1].map(() => ({ id: cidOf(randomBytes(8)), size: 80_000 })),
          source: concatenated([]),
        },
        'too-large',
      ],
      [
        'an id twice',
        {
          entries: [entries[0], entries[0]] as typeof entries,
          source: concatenated([good[0], good[0]] as Buffer[]),
        },
        'invalid-manifest',
      ],
      [
        'a negative size',
        { entries: [{ id: entries[0]?.id ?? '', size: -1 }], source: concatenated([]) },
        'invalid-manifest',
      ],
    ];
    for (const [what, parameters, fault] of cases) {
      const error = await store.putBatch(parameters).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(BlobBatchError);
      expect((error as BlobBatchError).fault, what).toBe(fault);
      expect(storedFiles(store.dir), what).toEqual([]);
      expect(readdirSync(join(store.dir, 'tmp')), what).toEqual([]);
    }
    const refused = await store.putBatch({ entries, source: concatenated(flipped) }).catch((e: unknown) => e);
    expect((refused as BlobBatchError).index).toBe(2);
    await expect(
      store.putBatch({
        entries: [{ id: '../../etc/passwd', size: 1 }],
        source: concatenated([randomBytes(1)]),
      }),
    ).rejects.toThrow(InvalidBlobIdError);
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

  it('F-1 kill -9 during batch uploads never leaves a blob whose bytes differ from its id', async () => {
    const dir = join(root, 'killed-batches');
    const fixture = join(import.meta.dirname, 'writeBlobsForever.fixture.ts');
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, 'batch'], {
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
