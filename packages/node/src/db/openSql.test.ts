import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseConnectionError, InvalidDatabaseUrlError } from '@carekey/sdk/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from './migrate.ts';
import { openSql } from './openSql.ts';
import { stopTestPostgresServer, testPostgresServer } from './testing/sqlEngines.ts';

afterAll(stopTestPostgresServer);

describe('openSql', () => {
  it('keeps the embedded database in <data>/pg across a close and a reopen', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carekey-data-'));
    const first = await openSql({ dataDir, databaseUrl: '' });
    expect(first.engine).toBe('pglite');
    await migrate({ sql: first });
    await first.query(
      `insert into chain_cursor (chain_id, genesis_hash, last_block, last_block_hash) values (31337, $1, 5, $1)`,
      [new Uint8Array(32).fill(7)],
    );
    // One store per folder: a second open is refused while the first is open.
    await expect(openSql({ dataDir })).rejects.toThrow(
      new RegExp(`already open \\(process ${process.pid}\\).*another CAREKEY_DATA`),
    );
    await first.close();
    // A lock left by a killed node (its process is gone) is taken over.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    writeFileSync(join(dataDir, 'pg.lock'), String(dead));
    const again = await openSql({ dataDir });
    try {
      expect((await migrate({ sql: again })).applied).toEqual([]);
      const { rows } = await again.query('select last_block from chain_cursor');
      expect(rows).toEqual([{ last_block: 5n }]);
    } finally {
      await again.close();
    }
    expect(existsSync(join(dataDir, 'pg.lock'))).toBe(false);
  }, 180_000);

  it('connects to a PostgreSQL server given by URL', async () => {
    const server = await testPostgresServer();
    const sql = await openSql({ dataDir: '/nonexistent', databaseUrl: await server.createDatabase() });
    try {
      expect(sql.engine).toBe('postgres');
      const { rows } = await sql.query<{ v: string }>('select current_setting($1) as v', ['server_version']);
      expect(rows[0]?.v).toMatch(/^15\./);
    } finally {
      await sql.close();
    }
  });

  it('explains a malformed URL without showing its password', async () => {
    for (const [url, why] of [
      ['not a url', /not a URL/],
      ['mysql://u:secret@127.0.0.1/db', /unsupported scheme 'mysql:'/],
      ['postgres://u:secret@127.0.0.1:5432', /no database name/],
    ] as const) {
      const error = await openSql({ dataDir: '/x', databaseUrl: url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidDatabaseUrlError);
      expect((error as Error).message).toMatch(why);
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('explains an unreachable server, a wrong password and a missing database', async () => {
    const server = await testPostgresServer();
    const closedPort = `postgres://u:secret@127.0.0.1:1/db`;
    const cases = [
      [closedPort, /connection refused/],
      [
        `postgres://${server.user}:wrong-secret@127.0.0.1:${server.port}/postgres`,
        /password authentication failed/,
      ],
      [server.url('no_such_db').replace(server.password, 'secret'), /password authentication failed/],
      [server.url('no_such_db'), /database does not exist/],
    ] as const;
    for (const [url, why] of cases) {
      const error = await openSql({ dataDir: '/x', databaseUrl: url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseConnectionError);
      expect((error as Error).message).toMatch(why);
      expect((error as Error).message).toContain('--database-url');
      expect((error as Error).message).not.toContain('secret');
      expect((error as Error).message).not.toContain(server.password);
    }
  });
});
