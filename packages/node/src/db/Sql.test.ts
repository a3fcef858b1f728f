import { QueryError, StorageError, StoreClosedError } from '@carekey/sdk/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestSql, pgliteTemplate, SQL_STORES, stopTestPostgresServer } from './testing/sqlEngines.ts';

// Compiling PGlite and running initdb takes seconds: do it once, in a hook, not in the first test.
beforeAll(() => pgliteTemplate(false), 180_000);
afterAll(stopTestPostgresServer);

describe.each(SQL_STORES)('Sql on %s', (engine) => {
  it('returns the same JavaScript values on every engine', async () => {
    const sql = await openTestSql(engine);
    try {
      const { rows } = await sql.query(
        `select $1::bytea as b, array[$1::bytea, $2::bytea] as bs, $3::int8 as big, 7::int4 as small,
                '{"a": [1, "x"]}'::jsonb as j, $4::jsonb as j2, '2026-01-02T03:04:05Z'::timestamptz as t,
                array[1, 2]::int8[] as bigs, 1.5::numeric as n, null::bytea as nothing`,
        [new Uint8Array([1, 2, 255]), new Uint8Array([]), 2n ** 63n - 1n, JSON.stringify([1, { b: 2 }])],
      );
      const row = rows[0];
      expect(row?.b).toEqual(new Uint8Array([1, 2, 255]));
      expect(Object.getPrototypeOf(row?.b)).toBe(Uint8Array.prototype);
      expect(row?.bs).toEqual([new Uint8Array([1, 2, 255]), new Uint8Array([])]);
      expect(row?.big).toBe(2n ** 63n - 1n);
      expect(row?.small).toBe(7);
      expect(row?.j).toEqual({ a: [1, 'x'] });
      expect(row?.j2).toEqual([1, { b: 2 }]);
      expect(row?.t).toEqual(new Date('2026-01-02T03:04:05Z'));
      expect(row?.bigs).toEqual([1n, 2n]);
      expect(row?.n).toBe('1.5');
      expect(row?.nothing).toBeNull();
    } finally {
      await sql.close();
    }
  });

  it('commits a transaction only when its function resolves', async () => {
    const sql = await openTestSql(engine);
    try {
      await sql.exec('create table t (k int4 primary key, v text)');
      await sql.transaction(async (tx) => {
        await tx.query('insert into t values ($1, $2)', [1, 'kept']);
      });
      const failure = await sql
        .transaction(async (tx) => {
          await tx.query('insert into t values ($1, $2)', [2, 'rolled back']);
          throw new Error('boom');
        })
        .catch((e: unknown) => e);
      expect((failure as Error).message).toBe('boom');
      const { rows, rowCount } = await sql.query<{ k: number }>('select k from t order by k');
      expect(rows).toEqual([{ k: 1 }]);
      expect(rowCount).toBe(1);
    } finally {
      await sql.close();
    }
  });

  it('reports SQL errors with their SQLSTATE and constraint', async () => {
    const sql = await openTestSql(engine);
    try {
      await sql.exec('create table u (k int4 constraint u_pk primary key)');
      await sql.query('insert into u values (1)');
      const error = await sql.query('insert into u values (1)').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).code).toBe('23505');
      expect((error as QueryError).constraint).toBe('u_pk');
      expect((error as Error).message).toMatch(/SQLSTATE 23505, constraint u_pk.*already exists/);
      const missing = await sql.query('select * from no_such_table').catch((e: unknown) => e);
      expect((missing as QueryError).code).toBe('42P01');
      expect((missing as Error).message).toContain('migrations');
    } finally {
      await sql.close();
    }
  });

  it('refuses the store itself inside its own transaction, and any use after close', async () => {
    const sql = await openTestSql(engine);
    const misuse = await sql
      .transaction(async () => {
        await sql.query('select 1');
      })
      .catch((e: unknown) => e);
    expect(misuse).toBeInstanceOf(StorageError);
    expect((misuse as Error).message).toContain('tx.query');
    await sql.close();
    await sql.close();
    await expect(sql.query('select 1')).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('runs concurrent transactions as if one after the other (no lost update)', async () => {
    const sql = await openTestSql(engine);
    try {
      await sql.exec(
        'create table counter (id int4 primary key, n int4 not null); insert into counter values (1, 0)',
      );
      // Read-modify-write: under read committed some increments would be lost; serializable re-runs them.
      await Promise.all(
        Array.from({ length: 20 }, () =>
          sql.transaction(
            async (tx) => {
              const { rows } = await tx.query<{ n: number }>('select n from counter where id = 1');
              await tx.query('update counter set n = $1 where id = 1', [(rows[0]?.n ?? 0) + 1]);
            },
            { retries: 100 },
          ),
        ),
      );
      const { rows } = await sql.query<{ n: number }>('select n from counter where id = 1');
      expect(rows[0]?.n).toBe(20);
    } finally {
      await sql.close();
    }
  });
});
