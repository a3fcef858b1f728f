import { MigrationError } from '@carekey/sdk/errors';
import { loadMigrations, type Migration } from './loadMigrations.ts';
import type { Sql } from './Sql.ts';

export type MigrateParameters = {
  sql: Sql;
  /** The migrations to apply (default: the node's own, {@link loadMigrations}). */
  migrations?: readonly Migration[] | undefined;
};

export type MigrateReturnType = {
  /** Migrations applied by this call (empty when the schema was up to date). */
  applied: Migration[];
  /** Schema version after the call. */
  version: number;
};

/** `pg_advisory_xact_lock` key serialising migrators (any constant; this one spells "ckmigr"). */
export const MIGRATION_LOCK_KEY = 0x636b6d696772n;

/**
 * Brings the schema up to date: applies, in order and in one transaction, the
 * migrations not yet recorded in `schema_migrations` (version, name, checksum,
 * applied_at). Either all of them apply or none.
 *
 * Several nodes starting at once against one server are serialised by an
 * advisory lock: the first applies, the others find the work done.
 *
 * @throws {MigrationError} an applied migration was changed since (checksum differs), the database has a
 *   migration this code does not know (it is newer), or a migration failed (nothing is applied).
 * @example
 * const sql = await openSql({ dataDir });
 * const { version } = await migrate({ sql });
 */
export async function migrate(parameters: MigrateParameters): Promise<MigrateReturnType> {
  const { sql } = parameters;
  const migrations = parameters.migrations ?? loadMigrations();
  // Read committed on purpose: after waiting for the lock, each statement sees what the
  // migrator before us committed (a snapshot taken before the wait would not).
  return sql.transaction(
    async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.exec(`create table if not exists schema_migrations (
        version     int4 primary key,
        name        text not null,
        checksum    text not null,
        applied_at  timestamptz not null default now()
      )`);
      const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
        'select version, name, checksum from schema_migrations order by version',
      );
      const known = new Map(migrations.map((m) => [m.version, m]));
      for (const row of rows) {
        const migration = known.get(row.version);
        if (!migration)
          throw new MigrationError(
            `the database has migration ${row.version} (${row.name}), which this version of Carekey does not know`,
            {
              hint: 'the database was migrated by a newer Carekey: run that version, or restore a backup made for this one',
              details: { version: row.version, name: row.name },
            },
          );
        if (migration.checksum !== row.checksum)
          throw new MigrationError(
            `migration ${row.version} (${row.name}) was changed after it was applied (checksum ${row.checksum.slice(0, 12)}… recorded, ${migration.checksum.slice(0, 12)}… now)`,
            {
              hint: 'never edit an applied migration: restore its original text and add a new numbered migration',
              details: { version: row.version, recorded: row.checksum, current: migration.checksum },
            },
          );
      }
      const done = new Set(rows.map((r) => r.version));
      const applied: Migration[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        try {
          await tx.exec(migration.script);
        } catch (cause) {
          throw new MigrationError(
            `migration ${migration.version} (${migration.name}) failed: ${(cause as Error).message}`,
            { cause, hint: 'nothing was applied; fix the migration and start again' },
          );
        }
        await tx.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        applied.push(migration);
      }
      return {
        applied,
        version: Math.max(0, ...rows.map((r) => r.version), ...applied.map((m) => m.version)),
      };
    },
    { isolation: 'read committed' },
  );
}
