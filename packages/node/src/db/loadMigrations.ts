import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MigrationError } from '@carekey/sdk/errors';

/** One numbered schema change. */
export type Migration = {
  /** The number in the file name, `1` for `001_initial.sql`. */
  version: number;
  /** The rest of the file name, `initial` for `001_initial.sql`. */
  name: string;
  /** The SQL script. */
  script: string;
  /** sha256 (hex) of the script, recorded when applied: a changed migration is refused. */
  checksum: string;
};

export type LoadMigrationsParameters = {
  /** Folder of `NNN_name.sql` files (default: this package's `db/migrations`). */
  dir?: string | undefined;
};

export type LoadMigrationsReturnType = Migration[];

/** The folder of the node's own migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/**
 * Reads the migrations of a folder, in order. Names are `NNN_snake_case.sql`
 * numbered 1, 2, 3... without gaps or duplicates.
 *
 * @throws {MigrationError} a file name does not follow the pattern, or numbers repeat or skip.
 * @example
 * const migrations = loadMigrations(); // [{ version: 1, name: 'initial', ... }]
 */
export function loadMigrations(parameters: LoadMigrationsParameters = {}): LoadMigrationsReturnType {
  const dir = parameters.dir ?? MIGRATIONS_DIR;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  } catch (cause) {
    throw new MigrationError(`cannot read the migrations folder '${dir}'`, { cause });
  }
  const migrations = files.map((file): Migration => {
    const match = FILE.exec(file);
    if (!match?.[1] || !match[2])
      throw new MigrationError(`migration file '${file}' is misnamed`, {
        hint: 'name migrations NNN_snake_case.sql, e.g. 002_add_shred_window.sql',
        details: { dir, file },
      });
    const script = readFileSync(`${dir}/${file}`, 'utf8');
    return {
      version: Number(match[1]),
      name: match[2],
      script,
      checksum: createHash('sha256').update(script).digest('hex'),
    };
  });
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1)
      throw new MigrationError(
        `migration ${migration.version} (${migration.name}) is out of sequence: expected number ${index + 1}`,
        { hint: 'migrations are numbered 1, 2, 3... with no gap and no duplicate', details: { dir } },
      );
  });
  return migrations;
}
