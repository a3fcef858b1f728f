/**
 * File plumbing for the Node helpers: a double-buffered reader and a writer
 * that batches parts into one `writev`, so reading, crypto and writing overlap
 * and memory stays constant. Output goes to a temporary file in the same
 * folder, renamed into place only on success (after an fsync when asked:
 * the blob store wants durability, a one-off CLI run does not pay for it).
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Bytes per read: 64 chunks, large enough to amortise syscalls and promises. */
export const READ_SIZE = 4 * 1024 * 1024;

/** Reads `file` in `READ_SIZE` pieces, the next read running while the caller works on the current. */
export async function* readPieces(file: FileHandle, size = READ_SIZE): AsyncGenerator<Uint8Array> {
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let which = 0;
  let pending = file.read(buffers[0] as Buffer, 0, size, null);
  for (;;) {
    const { bytesRead, buffer } = await pending;
    if (bytesRead === 0) return;
    which ^= 1;
    pending = file.read(buffers[which] as Buffer, 0, size, null);
    yield buffer.subarray(0, bytesRead);
  }
}

/** Collects output parts and writes them with one `writev`, at most one write in flight. */
export class BatchWriter {
  readonly #file: FileHandle;
  #parts: Uint8Array[] = [];
  #inFlight: Promise<unknown> = Promise.resolve();
  readonly sink = (part: Uint8Array): void => {
    this.#parts.push(part);
  };

  constructor(file: FileHandle) {
    this.#file = file;
  }

  /** Starts writing what was collected (after the previous write completes). */
  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const parts = this.#parts;
    this.#parts = [];
    await this.#inFlight;
    this.#inFlight = writeAll(this.#file, parts);
  }

  /** Waits for every write. */
  async close(): Promise<void> {
    await this.flush();
    await this.#inFlight;
  }
}

async function writeAll(file: FileHandle, parts: Uint8Array[]): Promise<void> {
  // writev may write less than asked: continue from where it stopped.
  const IOV_MAX = 1024;
  let i = 0;
  while (i < parts.length) {
    const batch = parts.slice(i, i + IOV_MAX);
    let total = 0;
    for (const p of batch) total += p.length;
    const { bytesWritten } = await file.writev(batch);
    if (bytesWritten === total) {
      i += batch.length;
      continue;
    }
    let skip = bytesWritten;
    while (skip > 0) {
      const first = parts[i] as Uint8Array;
      if (first.length <= skip) {
        skip -= first.length;
        i++;
      } else {
        parts[i] = first.subarray(skip);
        skip = 0;
      }
    }
  }
}

/**
 * Runs `work` with the input opened for reading and a temporary output file;
 * renames the output into place on success and deletes it on failure.
 */
export async function withFiles(
  input: string,
  output: string,
  work: (input: FileHandle, output: FileHandle) => Promise<void>,
  sync = false,
): Promise<void> {
  const temporary = path.join(
    path.dirname(output),
    `.${path.basename(output)}.${randomBytes(6).toString('hex')}.partial`,
  );
  const source = await open(input, 'r');
  try {
    const target = await open(temporary, 'wx', 0o600);
    try {
      await work(source, target);
      if (sync) await target.sync();
    } finally {
      await target.close();
    }
    await rename(temporary, output);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    await source.close();
  }
}
