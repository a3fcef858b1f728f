/**
 * vitest `globalSetup`: builds the PGlite templates once for the whole run — an empty database and one with every
 * migration applied — and leaves their tarballs in a temp folder named by `CAREKEY_TEST_PGLITE_TEMPLATES`, which the
 * test workers (forked after this runs) inherit. {@link pgliteTemplate} loads them instead of running initdb and the
 * migrations once per test file. The folder is removed after the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgliteSql, dumpPgliteSql } from '../createPgliteSql.ts';
import { migrate } from '../migrate.ts';

/** Environment variable naming the folder of the shared templates. */
export const TEMPLATES_ENV = 'CAREKEY_TEST_PGLITE_TEMPLATES';

/** File name of a template in that folder. */
export const templateFile = (migrated: boolean): string => (migrated ? 'migrated.tar' : 'empty.tar');

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'carekey-pglite-templates-'));
  for (const migrated of [false, true]) {
    const sql = await createPgliteSql();
    try {
      if (migrated) await migrate({ sql });
      const dump = await dumpPgliteSql(sql);
      writeFileSync(join(dir, templateFile(migrated)), new Uint8Array(await dump.arrayBuffer()));
    } finally {
      await sql.close();
    }
  }
  process.env[TEMPLATES_ENV] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
