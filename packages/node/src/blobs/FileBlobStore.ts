import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlobId, blobIdFromDigest, parseBlobId } from '@carekey/sdk/blobs';
import { BlobBatchError, BlobIntegrityError, BlobNotFoundError, BlobStoreError } from '@carekey/sdk/errors';
import { decodePackHeader, encodePackHeader, packHeaderLength } from './blobPack.ts';

export type FileBlobStoreParameters = {
  /** Folder of the store (created if missing). */
  dir: string;
  /** Largest payload accepted by `put`, in bytes. Default 2 GiB. */
  maxBlobBytes?: number;
  /** Largest batch accepted by `putBatch` (sum of its payloads), in bytes. Default 64 MiB. */
  maxBatchBytes?: number;
};

/** One payload of a batch as its manifest declares it. */
export type BlobBatchEntry = { id: string; size: number };

export type PutBlobBatchParameters = {
  /** The batch's payloads in the order their bytes follow in `source`: each one's blob id and exact size. */
  entries: readonly BlobBatchEntry[];
  /** Every payload's bytes back to back in `entries` order, streamed; nothing may follow the last one. */
  source: AsyncIterable<Uint8Array>;
};

export type PutBlobBatchReturnType = PutBlobReturnType[];

/** A batch's pack is written in calls of about this many bytes. */
const PACK_WRITE_BYTES = 1 << 20;

export type PutBlobParameters = {
  /** The payload, streamed. */
  source: AsyncIterable<Uint8Array> | Uint8Array;
  /** If given, the put fails (and stores nothing) unless the payload hashes to this id. */
  expectedId?: string;
};

export type PutBlobReturnType = BlobId & { size: number; created: boolean };

/** Where a payload of a pack lies. */
type PackedBlob = { path: string; offset: number; size: number };

/**
 * Content-addressed blob store on the filesystem (docs/storage.md, "Blob store"). A payload stored alone (`put`)
 * is a loose file under its blob id (CIDv1 raw sha2-256), `<dir>/<last two characters>/<id>`; a batch
 * (`putBatch`) is one pack file `<dir>/packs/<sha256 of its header>.pack`. Both are written atomically (temp file,
 * fsync, rename, fsync of the folder) and every payload is checked against its id when read back. Stores of
 * before the packs hold only loose files and are read as they are (no migration). Ids from outside are parsed
 * with `parseBlobId` before any path is built from them.
 */
export class FileBlobStore {
  readonly dir: string;
  readonly maxBlobBytes: number;
  readonly maxBatchBytes: number;
  readonly #tmp: string;
  readonly #packs: string;
  /** Every payload held in a pack, by blob id (read from the packs' headers by `open`). */
  readonly #packed = new Map<string, PackedBlob>();
  /** Every loose blob id (listed by `open`, added to by `put`). */
  readonly #loose = new Set<string>();
  /** Payloads (ids) and packs (file names) `open` found damaged: a pack's header, or bytes cut short. */
  readonly #damaged: string[] = [];

  private constructor(dir: string, maxBlobBytes: number, maxBatchBytes: number) {
    this.dir = dir;
    this.maxBlobBytes = maxBlobBytes;
    this.maxBatchBytes = maxBatchBytes;
    this.#tmp = join(dir, 'tmp');
    this.#packs = join(dir, 'packs');
  }

  /**
   * Opens (and creates) a store: removes temp files left by a crash (a batch cut short by one leaves only its
   * temp pack, F-1), lists the loose blobs and reads every pack's header. A pack whose header is damaged is not
   * served, nor a payload of one that ends before its bytes do; `verifyAll` names them.
   */
  static async open(parameters: FileBlobStoreParameters): Promise<FileBlobStore> {
    const store = new FileBlobStore(
      parameters.dir,
      parameters.maxBlobBytes ?? 2 ** 31,
      parameters.maxBatchBytes ?? 64 * 2 ** 20,
    );
    await mkdir(store.#tmp, { recursive: true });
    for (const name of await readdir(store.#tmp)) await rm(join(store.#tmp, name), { force: true });
    if ((await mkdir(store.#packs, { recursive: true })) !== undefined) await fsyncDir(store.dir);
    for (const shard of await readdir(store.dir)) {
      if (shard === 'tmp' || shard === 'packs') continue;
      for (const name of await readdir(join(store.dir, shard))) store.#loose.add(name);
    }
    for (const name of (await readdir(store.#packs)).sort()) {
      if (name.endsWith('.pack')) await store.#indexPack(join(store.#packs, name));
    }
    return store;
  }

  /** Adds a pack's payloads to the index; notes the pack or the payloads it cannot serve as damaged. */
  async #indexPack(path: string): Promise<void> {
    const handle = await open(path, 'r');
    try {
      const { size: fileSize } = await handle.stat();
      const prefix = Buffer.alloc(12);
      const { bytesRead } = await handle.read(prefix, 0, prefix.length, 0);
      const length = packHeaderLength(prefix.subarray(0, bytesRead));
      const header = length !== undefined && length <= fileSize ? Buffer.alloc(length) : undefined;
      if (header) await handle.read(header, 0, header.length, 0);
      const entries = header ? decodePackHeader(header) : undefined;
      if (entries === undefined) {
        this.#damaged.push(path.slice(this.#packs.length + 1));
        return;
      }
      for (const entry of entries) {
        const id = blobIdFromDigest(entry.digest).id;
        if (entry.offset + entry.size > fileSize) this.#damaged.push(id);
        else if (!this.#packed.has(id))
          this.#packed.set(id, { path, offset: entry.offset, size: entry.size });
      }
    } finally {
      await handle.close();
    }
  }

  /** Path of a validated blob id: `<dir>/<last two characters>/<id>`. */
  #path(blob: BlobId): string {
    return join(this.dir, blob.id.slice(-2), blob.id);
  }

  /**
   * Stores a payload streamed from `source` and returns its blob id. Storing the same bytes twice is harmless
   * (`created: false` the second time). Nothing is visible under the id until the bytes are durably written.
   *
   * @throws BlobStoreError if the payload exceeds `maxBlobBytes` or does not match `expectedId`.
   */
  async put(parameters: PutBlobParameters): Promise<PutBlobReturnType> {
    const expected = parameters.expectedId === undefined ? undefined : parseBlobId(parameters.expectedId);
    const temp = join(this.#tmp, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const handle = await open(temp, 'wx', 0o600);
    try {
      const source = parameters.source instanceof Uint8Array ? [parameters.source] : parameters.source;
      for await (const chunk of source) {
        size += chunk.length;
        if (size > this.maxBlobBytes) {
          throw new BlobStoreError(`payload larger than ${this.maxBlobBytes} bytes`, { details: { size } });
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    const blob = blobIdFromDigest(new Uint8Array(hash.digest()));
    if (expected && expected.id !== blob.id) {
      await rm(temp, { force: true });
      throw new BlobIntegrityError(expected.id);
    }
    const path = this.#path(blob);
    if (this.#packed.has(blob.id) || (await exists(path))) {
      await rm(temp, { force: true });
      return { ...blob, size, created: false };
    }
    const shard = join(this.dir, blob.id.slice(-2));
    await mkdir(shard, { recursive: true });
    await rename(temp, path);
    await fsyncDir(shard);
    this.#loose.add(blob.id);
    return { ...blob, size, created: true };
  }

  /**
   * Stores a batch of payloads streamed back to back from one source, all or nothing, in **one pack file**
   * (`blobPack.ts`): the pack's header (every new payload's digest and size) and the payloads are written to a temp
   * file as they stream in, each payload hashed on the way; only when every one matches its id and the source ended
   * exactly after the last is the pack fsynced, renamed into `packs/` and that folder fsynced — one file, one fsync
   * and one rename per batch instead of per payload. A process killed at any point leaves either the whole pack or
   * only a temp file (removed by `open`): never part of a batch (F-1). Payloads already stored (loose or in a
   * pack) are checked like the others but not written again (`created: false`).
   *
   * @throws BlobBatchError `invalid-manifest` (an id twice, a size that is not a count), `too-large` (a payload over
   *   `maxBlobBytes` or the batch over `maxBatchBytes`), `hash-mismatch` (with the payload's index), `truncated`,
   *   `trailing-bytes`; InvalidBlobIdError for a malformed id. Nothing is stored on any of them.
   */
  async putBatch(parameters: PutBlobBatchParameters): Promise<PutBlobBatchReturnType> {
    const entries = parameters.entries.map((entry, index) => {
      const blob = parseBlobId(entry.id);
      if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
        throw new BlobBatchError('invalid-manifest', `payload ${index}: size must be a byte count`, {
          index,
        });
      }
      if (entry.size > this.maxBlobBytes) {
        throw new BlobBatchError('too-large', `payload ${index} is larger than ${this.maxBlobBytes} bytes`, {
          index,
        });
      }
      return { ...blob, size: entry.size };
    });
    if (new Set(entries.map((e) => e.id)).size !== entries.length) {
      throw new BlobBatchError('invalid-manifest', 'the batch lists a blob id twice');
    }
    const total = entries.reduce((n, e) => n + e.size, 0);
    if (total > this.maxBatchBytes) {
      throw new BlobBatchError('too-large', `the batch is larger than ${this.maxBatchBytes} bytes`, {
        details: { size: total },
      });
    }
    // Known from the store's own indexes (no look-up on disk per payload): an id stored behind the store's back is
    // at worst stored once more, which content addressing makes harmless.
    const present = entries.map((e) => this.#packed.has(e.id) || this.#loose.has(e.id));
    const fresh = entries.filter((_, i) => !present[i]);
    const header = encodePackHeader(fresh);
    const temp = join(this.#tmp, `${randomBytes(12).toString('hex')}.pack`);
    const handle = fresh.length > 0 ? await open(temp, 'wx', 0o600) : undefined;
    let closed = handle === undefined;
    try {
      let pending: Uint8Array[] = [header];
      let pendingBytes = header.length;
      const flush = async () => {
        if (handle && pending.length > 0) await handle.writev(pending);
        pending = [];
        pendingBytes = 0;
      };
      const reader = new ExactReader(parameters.source);
      for (const [index, entry] of entries.entries()) {
        const hash = createHash('sha256');
        const keep = !present[index];
        try {
          for await (const piece of reader.take(entry.size)) {
            hash.update(piece);
            if (!keep) continue;
            pending.push(piece);
            pendingBytes += piece.length;
            // Written in pieces of about a mebibyte: one trip to the thread pool for many small payloads.
            if (pendingBytes >= PACK_WRITE_BYTES) await flush();
          }
        } catch (error) {
          throw error instanceof BlobBatchError && error.fault === 'truncated'
            ? new BlobBatchError('truncated', `the body ends inside payload ${index}`, { index })
            : error;
        }
        if (!Buffer.from(entry.digest).equals(hash.digest())) {
          throw new BlobBatchError('hash-mismatch', `payload ${index} does not hash to ${entry.id}`, {
            index,
          });
        }
      }
      if (!(await reader.ended())) {
        throw new BlobBatchError('trailing-bytes', 'the body goes on after the last payload of the manifest');
      }
      if (handle) {
        await flush();
        await handle.sync();
        await handle.close();
        closed = true;
        const path = join(this.#packs, `${createHash('sha256').update(header).digest('hex')}.pack`);
        await rename(temp, path);
        await fsyncDir(this.#packs);
        // Visible only now that the pack and its name are durable.
        for (const entry of decodePackHeader(header) ?? []) {
          const id = blobIdFromDigest(entry.digest).id;
          if (!this.#packed.has(id)) this.#packed.set(id, { path, offset: entry.offset, size: entry.size });
        }
      }
      return entries.map((e, i) => ({ id: e.id, digest: e.digest, size: e.size, created: !present[i] }));
    } catch (error) {
      if (!closed) await handle?.close();
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * The index of the first of `ids` that is not stored, or -1 when every one is: a batch's look-ups in one call.
   * An id held in a pack is found in the store's index; only the others are parsed and looked up on disk (all at
   * once), as `has` does. @throws InvalidBlobIdError for a malformed id that no pack holds.
   */
  async firstMissing(ids: readonly string[]): Promise<number> {
    const elsewhere: number[] = [];
    for (const [index, id] of ids.entries()) if (!this.#packed.has(id)) elsewhere.push(index);
    if (elsewhere.length === 0) return -1;
    const found = await Promise.all(elsewhere.map((index) => exists(this.#path(parseBlobId(ids[index])))));
    const at = found.indexOf(false);
    return at < 0 ? -1 : (elsewhere[at] as number);
  }

  /** Whether a blob is stored. @throws InvalidBlobIdError for a malformed id. */
  async has(id: string): Promise<boolean> {
    const blob = parseBlobId(id);
    return this.#packed.has(blob.id) || exists(this.#path(blob));
  }

  /** Size in bytes of a stored blob. @throws BlobNotFoundError, InvalidBlobIdError. */
  async size(id: string): Promise<number> {
    const blob = parseBlobId(id);
    const packed = this.#packed.get(blob.id);
    if (packed) return packed.size;
    try {
      return (await stat(this.#path(blob))).size;
    } catch {
      throw new BlobNotFoundError(blob.id);
    }
  }

  /**
   * Streams a stored blob. The bytes are hashed as they go; if they do not match the id the stream fails at its
   * end with `BlobIntegrityError`, so a consumer must not act on the data before the stream completes
   * (age decryption authenticates every chunk on its own as well).
   *
   * @throws InvalidBlobIdError, BlobNotFoundError, BlobIntegrityError.
   */
  async *get(id: string): AsyncGenerator<Uint8Array> {
    const blob = parseBlobId(id);
    const packed = this.#packed.get(blob.id);
    const path = packed?.path ?? this.#path(blob);
    if (!packed && !(await exists(path))) throw new BlobNotFoundError(blob.id);
    const hash = createHash('sha256');
    // A packed payload is its byte range of the pack (an empty one has no range to read).
    const range = packed ? { start: packed.offset, end: packed.offset + packed.size - 1 } : {};
    const chunks = packed?.size === 0 ? [] : createReadStream(path, { highWaterMark: 1 << 20, ...range });
    for await (const chunk of chunks as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    if (!Buffer.from(blob.digest).equals(hash.digest())) throw new BlobIntegrityError(blob.id);
  }

  /**
   * Checks every stored blob (loose and packed) against its id; returns those that fail (damaged), with the
   * payloads and packs `open` could not serve (a pack named by its file name) — for drills and repair.
   */
  async verifyAll(): Promise<{ checked: number; damaged: string[] }> {
    const damaged = [...this.#damaged];
    let checked = 0;
    const check = async (id: string) => {
      checked++;
      try {
        for await (const _ of this.get(id)) {
          // drain: get() checks the hash at the end
        }
      } catch {
        damaged.push(id);
      }
    };
    for (const shard of await readdir(this.dir)) {
      if (shard === 'tmp' || shard === 'packs') continue;
      for (const name of await readdir(join(this.dir, shard))) await check(name);
    }
    for (const id of this.#packed.keys()) await check(id);
    return { checked, damaged };
  }
}

/** Reads exact byte counts from a chunked source (an HTTP body), never holding more than one chunk. */
class ExactReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #pending: Uint8Array | undefined;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** The next `count` bytes, in pieces. @throws BlobBatchError `truncated` if the source ends first. */
  async *take(count: number): AsyncGenerator<Uint8Array> {
    let left = count;
    while (left > 0) {
      let chunk = this.#pending;
      this.#pending = undefined;
      if (chunk === undefined) {
        const next = await this.#source.next();
        if (next.done) throw new BlobBatchError('truncated', 'the body ends early');
        chunk = next.value;
      }
      if (chunk.length > left) {
        this.#pending = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      if (chunk.length > 0) yield chunk;
    }
  }

  /** Whether the source holds nothing more. */
  async ended(): Promise<boolean> {
    if (this.#pending !== undefined && this.#pending.length > 0) return false;
    for (;;) {
      const next = await this.#source.next();
      if (next.done) return true;
      if (next.value.length > 0) return false;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
