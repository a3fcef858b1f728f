import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlobId, blobIdFromDigest, parseBlobId } from '@carekey/sdk/blobs';
import { BlobIntegrityError, BlobNotFoundError, BlobStoreError } from '@carekey/sdk/errors';

export type FileBlobStoreParameters = {
  /** Folder of the store (created if missing). */
  dir: string;
  /** Largest payload accepted by `put`, in bytes. Default 2 GiB. */
  maxBlobBytes?: number;
};

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
  readonly #tmp: string;

  private constructor(dir: string, maxBlobBytes: number) {
    this.dir = dir;
    this.maxBlobBytes = maxBlobBytes;
    this.#tmp = join(dir, 'tmp');
  }

  /** Opens (and creates) a store; removes temp files left by a crash. */
  static async open(parameters: FileBlobStoreParameters): Promise<FileBlobStore> {
    const store = new FileBlobStore(parameters.dir, parameters.maxBlobBytes ?? 2 ** 31);
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
