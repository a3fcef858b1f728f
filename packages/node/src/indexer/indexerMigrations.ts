import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadMigrations, type Migration } from '../db/loadMigrations.ts';

/** `010_indexer.sql`: the indexer's tables (the numbers 010-019 are the indexer's). */
export const INDEXER_MIGRATION: Migration = (() => {
  const script = readFileSync(
    fileURLToPath(new URL('./migrations/010_indexer.sql', import.meta.url)),
    'utf8',
  );
  return {
    version: 10,
    name: 'indexer',
    script,
    checksum: createHash('sha256').update(script).digest('hex'),
  };
})();

/**
 * The node's migrations plus the indexer's, in order: pass to `migrate({ sql, migrations })`.
 *
 * Why not in `db/migrations`: `loadMigrations` refuses gaps in the numbering (1, 2, 10 fails) while the indexer
 * was given the numbers 010-019. Once the loader accepts the assigned ranges, move the file there and drop this.
 *
 * @example
 * await migrate({ sql, migrations: withIndexerMigrations() });
 */
export function withIndexerMigrations(): Migration[] {
  return [...loadMigrations().filter((m) => m.version !== INDEXER_MIGRATION.version), INDEXER_MIGRATION].sort(
    (a, b) => a.version - b.version,
  );
}
