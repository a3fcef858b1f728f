import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X25519Identity } from '@carekey/sdk/crypto';
import { DataDirError } from '@carekey/sdk/errors';

/** Path of the node's emergency key in its data folder. */
export function emergencyKeyPath(dataDir: string): string {
  return join(dataDir, 'emergency', 'identity.key');
}

/**
 * The node's emergency key: an age X25519 identity in `<dataDir>/emergency/identity.key` (mode 0600), created on
 * the first start and kept across restarts. Patients wrap their summary's file key to its recipient; only a
 * break-glass unwraps it (docs/emergency.md: the operator is trusted with this key). Never served, never logged.
 *
 * @throws {DataDirError} the file cannot be created or read, or does not hold one X25519 identity.
 */
export function loadEmergencyKey(dataDir: string): X25519Identity {
  const path = emergencyKeyPath(dataDir);
  try {
    if (!existsSync(path)) {
      mkdirSync(join(dataDir, 'emergency'), { recursive: true, mode: 0o700 });
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, `${X25519Identity.generate().toString()}\n`, { mode: 0o600, flush: true });
      try {
        linkSync(temp, path); // fails if another start created it first: that one wins
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        rmSync(temp, { force: true });
      }
    }
    chmodSync(path, 0o600);
    return new X25519Identity(readFileSync(path, 'utf8').trim());
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).name;
    throw new DataDirError(dataDir, `cannot load the emergency key '${path}' (${code})`, {
      cause,
      hint: 'restore it from a backup; a new key means patients must run `carekey emergency refresh`',
    });
  }
}
