import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataDirError } from '@carekey/sdk/errors';

export type LoadAudienceParameters = {
  /** The node's data folder. */
  dataDir: string;
};

/** The node's audience string, `carekey-node:<32 hex>`. */
export type LoadAudienceReturnType = string;

const AUDIENCE = /^carekey-node:[0-9a-f]{32}$/u;

/** Where the audience is kept in a data folder. */
export function audiencePath(dataDir: string): string {
  return join(dataDir, 'api', 'audience');
}

/**
 * Returns this node's audience — the id every signed request names so that a request for one node is refused by
 * another (T-1) — creating it at random on first start and keeping it in `<dataDir>/api/audience`.
 *
 * @throws {DataDirError} the file cannot be written, or holds something else than an audience.
 * @example
 * loadAudience({ dataDir }) // 'carekey-node:4f0c…'
 */
export function loadAudience(parameters: LoadAudienceParameters): LoadAudienceReturnType {
  const path = audiencePath(parameters.dataDir);
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(parameters.dataDir, `cannot read '${path}'`, { cause });
    }
  }
  if (existing !== undefined) {
    if (!AUDIENCE.test(existing)) {
      throw new DataDirError(parameters.dataDir, `'${path}' does not hold a node audience`, {
        hint: 'restore it from a backup; deleting it makes every signed request in flight fail',
      });
    }
    return existing;
  }
  const audience = `carekey-node:${randomBytes(16).toString('hex')}`;
  const temp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temp, `${audience}\n`, { flush: true, mode: 0o644 });
    renameSync(temp, path);
  } catch (cause) {
    throw new DataDirError(parameters.dataDir, `cannot write '${path}'`, { cause });
  }
  return audience;
}
