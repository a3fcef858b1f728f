import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlobId, blobIdFromDigest, parseBlobId } from '@carekey/sdk/blobs';
import { BlobBatchError, BlobIntegrityError, BlobNotFoundError, BlobStoreError } from '@carekey/sdk/errors';

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

/** Temp files of a batch being fsynced at once (bounded: each holds a file descriptor). */
const BATCH_SYNCS_IN_FLIGHT = 64;
/** Renames of a batch in flight at once. */
const BATCH_RENAMES_IN_FLIGHT = 64;
/** A batch's payloads up to this size are written with one call each. */
const SMALL_PAYLOAD_BYTES = 1 << 20;

export type PutBlobParameters = {
  /** The payload, streamed. */
  source: AsyncIterable<Uint8Array> | Uint8Array;
  /** If given, the put fails (and stores nothing) unless the payload hashes to this id. */
  expectedId?: string;
};

export type PutBlobReturnType = BlobId & { size: number; created: boolean };

/**
 * Content-addressed blob store on the filesystem: every payload is stored under its blob id (CIDv1 raw sha2-256),
 * written atomically (temp file, fsync, rename, fsync of the folder), and checked against its id when read back.
 * Ids from outside are parsed with `parseBlobId` before any path is built from them.
 */
export class FileBlobStore {
  readonly dir: string;
  readonly maxBlobBytes: number;
  readonly maxBatchBytes: number;
  readonly #tmp: string;

  private constructor(dir: string, maxBlobBytes: number, maxBatchBytes: number) {
    this.dir = dir;
    this.maxBlobBytes = maxBlobBytes;
    this.maxBatchBytes = maxBatchBytes;
    this.#tmp = join(dir, 'tmp');
  }

  /** Opens (and creates) a store; removes temp files left by a crash. */
  static async open(parameters: FileBlobStoreParameters): Promise<FileBlobStore> {
    const store = new FileBlobStore(
      parameters.dir,
      parameters.maxBlobBytes ?? 2 ** 31,
      parameters.maxBatchBytes ?? 64 * 2 ** 20,
    );
    await mkdir(store.#tmp, { recursive: true });
    for (const name of await readdir(store.#tmp)) await rm(join(store.#tmp, name), { force: true });
    return store;
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
    if (await exists(path)) {
      await rm(temp, { force: true });
      return { ...blob, size, created: false };
    }
    const shard = join(this.dir, blob.id.slice(-2));
    await mkdir(shard, { recursive: true });
    await rename(temp, path);
    await fsyncDir(shard);
    return { ...blob, size, created: true };
  }

  /**
   * Stores a batch of payloads streamed back to back from one source, all or nothing: each payload goes to its own
   * temp file and is hashed on the way; only when every one matches its id and the source ended exactly after the
   * last is any of them renamed into place. The durability work is grouped per batch rather than per payload: the
   * temp files are fsynced together while the next payloads stream in (the filesystem's journal commits them as a
   * group), then renamed, then each shard folder touched is fsynced once for the whole batch. A process killed
   * before the renames leaves only temp files (removed by `open`); killed during them, some payloads of the batch
   * are stored, each complete and synced, and the rest not: a retry stores the rest (F-1).
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
    const temps: string[] = [];
    const syncing = new Set<Promise<void>>();
    const synced: Promise<void>[] = [];
    try {
      const reader = new ExactReader(parameters.source);
      for (const [index, entry] of entries.entries()) {
        const temp = join(this.#tmp, `${randomBytes(12).toString('hex')}.part`);
        temps.push(temp);
        const hash = createHash('sha256');
        const handle = await open(temp, 'wx', 0o600);
        try {
          if (entry.size <= SMALL_PAYLOAD_BYTES) {
            // A small payload is gathered and written in one call (one trip to the thread pool, not one a piece).
            const pieces: Uint8Array[] = [];
            for await (const piece of reader.take(entry.size)) {
              hash.update(piece);
              pieces.push(piece);
            }
            await handle.write(pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces));
          } else {
            for await (const piece of reader.take(entry.size)) {
              hash.update(piece);
              await handle.write(piece);
            }
          }
        } catch (error) {
          await handle.close();
          throw error instanceof BlobBatchError && error.fault === 'truncated'
            ? new BlobBatchError('truncated', `the body ends inside payload ${index}`, { index })
            : error;
        }
        if (!Buffer.from(entry.digest).equals(hash.digest())) {
          await handle.close();
          throw new BlobBatchError('hash-mismatch', `payload ${index} does not hash to ${entry.id}`, {
            index,
          });
        }
        // fsync in the background while the next payload streams in; the handle closes once synced.
        const sync = handle.sync().finally(() => handle.close());
        synced.push(sync);
        syncing.add(sync);
        void sync.then(
          () => syncing.delete(sync),
          () => syncing.delete(sync),
        );
        if (syncing.size >= BATCH_SYNCS_IN_FLIGHT) await Promise.race(syncing);
      }
      if (!(await reader.ended())) {
        throw new BlobBatchError('trailing-bytes', 'the body goes on after the last payload of the manifest');
      }
      await Promise.all(synced);
      // Every payload is synced: the renames (and the look-ups before them) run many at once, each shard folder
      // created first and fsynced once after all of them.
      const shardOf = (entry: { id: string }) => join(this.dir, entry.id.slice(-2));
      await Promise.all([...new Set(entries.map(shardOf))].map((shard) => mkdir(shard, { recursive: true })));
      const renamed = new Set<string>();
      const stored = new Array<PutBlobReturnType>(entries.length);
      await forEachAtOnce(entries, BATCH_RENAMES_IN_FLIGHT, async (entry, index) => {
        const blob = { id: entry.id, digest: entry.digest };
        const path = this.#path(blob);
        if (await exists(path)) {
          stored[index] = { ...blob, size: entry.size, created: false };
          return;
        }
        await rename(temps[index] as string, path);
        temps[index] = '';
        renamed.add(shardOf(entry));
        stored[index] = { ...blob, size: entry.size, created: true };
      });
      await Promise.all([...renamed].map(fsyncDir));
      return stored;
    } catch (error) {
      await Promise.allSettled(synced);
      throw error;
    } finally {
      await Promise.all(temps.filter((t) => t !== '').map((temp) => rm(temp, { force: true })));
    }
  }

  /** Whether a blob is stored. @throws InvalidBlobIdError for a malformed id. */
  async has(id: string): Promise<boolean> {
    return exists(this.#path(parseBlobId(id)));
  }

  /** Size in bytes of a stored blob. @throws BlobNotFoundError, InvalidBlobIdError. */
  async size(id: string): Promise<number> {
    const blob = parseBlobId(id);
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
    const path = this.#path(blob);
    if (!(await exists(path))) throw new BlobNotFoundError(blob.id);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    if (!Buffer.from(blob.digest).equals(hash.digest())) throw new BlobIntegrityError(blob.id);
  }

  /** Checks every stored blob against its id; returns the ids that fail (damaged) — for drills and repair. */
  async verifyAll(): Promise<{ checked: number; damaged: string[] }> {
    const damaged: string[] = [];
    let checked = 0;
    for (const shard of await readdir(this.dir)) {
      if (shard === 'tmp') continue;
      for (const name of await readdir(join(this.dir, shard))) {
        checked++;
        try {
          for await (const _ of this.get(name)) {
            // drain: get() checks the hash at the end
          }
        } catch {
          damaged.push(name);
        }
      }
    }
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

/** Runs `run` on every item, at most `limit` at once; the first failure is thrown once the running ones end. */
async function forEachAtOnce<item>(
  items: readonly item[],
  limit: number,
  run: (x: item, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        await run(items[index] as item, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = outcomes.find((o) => o.status === 'rejected');
  if (failure) throw failure.reason;
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
