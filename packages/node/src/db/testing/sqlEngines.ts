import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPgliteSql, dumpPgliteSql } from '../createPgliteSql.ts';
import { createPgliteWorkerSql } from '../createPgliteWorkerSql.ts';
import { createPostgresSql } from '../createPostgresSql.ts';
import { migrate } from '../migrate.ts';
import type { Sql, SqlEngine } from '../Sql.ts';
import { TEMPLATES_ENV, templateFile } from './pgliteTemplateSetup.ts';
import { type PostgresServer, startPostgresServer } from './startPostgresServer.ts';

/** Both engines: every SQL test runs once on each (`describe.each(SQL_ENGINES)`). */
export const SQL_ENGINES: readonly SqlEngine[] = ['pglite', 'postgres'];

/**
 * A store the tests can open: an engine, or `pglite-worker` — PGlite in a worker thread (`createPgliteWorkerSql`,
 * the node's default; engine `pglite`, the same behaviour by contract: Sql.test runs on all three).
 */
export type TestSqlStore = SqlEngine | 'pglite-worker';

/** Every store: the `Sql` contract tests run on each (`describe.each(SQL_STORES)`). */
export const SQL_STORES: readonly TestSqlStore[] = ['pglite', 'pglite-worker', 'postgres'];

let server: Promise<PostgresServer> | undefined;

/** The test file's PostgreSQL server, started on first use. */
export function testPostgresServer(): Promise<PostgresServer> {
  server ??= startPostgresServer();
  return server;
}

const templates = new Map<boolean, Promise<Blob>>();

/**
 * PGlite runs initdb (seconds) for each new database; tests clone a template instead
 * (`createPgliteSql({ from: await pgliteTemplate(true) })`): the one the vitest globalSetup made once for the whole
 * run (`pgliteTemplateSetup.ts`), or else one made once per file.
 */
export function pgliteTemplate(migrated: boolean): Promise<Blob> {
  let template = templates.get(migrated);
  if (!template) {
    template = (async () => {
      const shared = process.env[TEMPLATES_ENV];
      if (shared) {
        const file = join(shared, templateFile(migrated));
        if (existsSync(file)) return new Blob([readFileSync(file)]);
      }
      const sql = await createPgliteSql();
      try {
        if (migrated) await migrate({ sql });
        return await dumpPgliteSql(sql);
      } finally {
        await sql.close();
      }
    })();
    templates.set(migrated, template);
  }
  return template;
}

export type OpenTestSqlOptions = {
  /** Apply the node's migrations first (default false: an empty database). */
  migrated?: boolean | undefined;
};

/**
 * A fresh store on `engine`: an in-memory PGlite (in process, or in a worker thread), or a new database on the test
 * file's PostgreSQL server. Call {@link stopTestPostgresServer} in `afterAll`.
 */
export async function openTestSql(engine: TestSqlStore, options: OpenTestSqlOptions = {}): Promise<Sql> {
  const migrated = options.migrated ?? false;
  if (engine === 'pglite') return createPgliteSql({ from: await pgliteTemplate(migrated) });
  if (engine === 'pglite-worker') return createPgliteWorkerSql({ from: await pgliteTemplate(migrated) });
  const url = await (await testPostgresServer()).createDatabase();
  const sql = await createPostgresSql({ url });
  if (migrated) await migrate({ sql });
  return sql;
}

/** Stops the test file's PostgreSQL server, if one was started. */
export async function stopTestPostgresServer(): Promise<void> {
  const running = server;
  server = undefined;
  if (running) await (await running).stop();
}
