import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Writes a file atomically (temp file, fsync, rename) with owner-only permissions: never half-written. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Files of one {@link writeFilesAtomic} call written and fsynced at once (each holds a file descriptor). */
const FILES_IN_FLIGHT = 32;

/**
 * Writes many files of one folder, each atomically (temp file, fsync, rename), with the durability work grouped:
 * the temp files are written and fsynced concurrently (the filesystem journal commits them together), then
 * renamed, then the folder is fsynced once for all the renames. A crash leaves each file either absent, as it
 * was, or complete.
 */
export async function writeFilesAtomic(dir: string, files: readonly { name: string; data: Uint8Array }[]) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temps = files.map((f) => join(dir, `.${f.name}.${randomBytes(6).toString('hex')}.tmp`));
  try {
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        const handle = await open(temps[i] as string, 'wx', 0o600);
        try {
          await handle.writeFile((files[i] as { data: Uint8Array }).data);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, worker));
    // Renamed many at once too (each file is synced already), the folder fsynced after all of them.
    let nextRename = 0;
    const renamer = async () => {
      while (nextRename < files.length) {
        const i = nextRename++;
        await rename(temps[i] as string, join(dir, (files[i] as { name: string }).name));
        temps[i] = '';
      }
    };
    const renames = await Promise.allSettled(
      Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, renamer),
    );
    const failed = renames.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } finally {
    await Promise.all(temps.filter((t) => t !== '').map((t) => rm(t, { force: true })));
  }
}
