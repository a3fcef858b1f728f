import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '@carekey/sdk/errors';

/**
 * Two PGlite instances on one folder (two nodes, or one node opening it twice)
 * would corrupt it: `<dataDir>.lock` holds the owner's pid. A lock whose process
 * is gone (a killed node) is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = `${dataDir.replace(/[\\/]+$/, '')}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw new StorageError(`cannot lock the embedded database folder '${dataDir}'`, {
          cause,
          hint: 'check that the data folder is writable (CAREKEY_DATA / --data)',
        });
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isSafeInteger(owner) && owner > 0 && isAlive(owner))
        throw new StorageError(`the embedded database in '${dataDir}' is already open (process ${owner})`, {
          hint: 'stop the other Carekey node using this data folder, or give this one another CAREKEY_DATA / --data',
          details: { dataDir, pid: owner },
        });
      rmSync(path, { force: true }); // its owner is gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
