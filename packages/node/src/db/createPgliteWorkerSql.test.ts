import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryError, StorageError, StoreClosedError } from '@carekey/sdk/errors';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPgliteSql, dumpPgliteSql } from './createPgliteSql.ts';
import { createPgliteWorkerSql, pgliteWorkerOf } from './createPgliteWorkerSql.ts';
import type { Sql } from './Sql.ts';
import { pgliteTemplate } from './testing/sqlEngines.ts';

// The `Sql` contract itself (values, errors, transactions, concurrency) runs on this store in Sql.test.ts; these are
// what a worker thread adds: a folder shared with the in-process store, a thread that can die, and close().
beforeAll(() => pgliteTemplate(false), 180_000);

/** A new on-disk store in a temp folder, started from the empty template (no initdb). */
async function onDisk(): Promise<{ sql: Sql; dataDir: string }> {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'carekey-pglite-worker-')), 'pg');
  const sql = await createPgliteWorkerSql({ dataDir, from: await pgliteTemplate(false) });
  return { sql, dataDir };
}

const rowsOf = async (sql: Sql, text: string) => (await sql.query(text)).rows;

describe('createPgliteWorkerSql', () => {
  it('keeps the data folder of the in-process store: either opens what the other wrote, one at a time (lock)', async () => {
    const { sql, dataDir } = await onDisk();
    expect(sql.engine).toBe('pglite');
    await sql.exec('create table t (k int8 primary key, v bytea)');
    await sql.query('insert into t values ($1, $2)', [1n, new Uint8Array([1])]);
    await expect(createPgliteSql({ dataDir })).rejects.toThrow(
      new RegExp(`already open \\(process ${process.pid}\\)`),
    );
    await sql.close();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    const inProcess = await createPgliteSql({ dataDir });
    await expect(createPgliteWorkerSql({ dataDir })).rejects.toBeInstanceOf(StorageError);
    await inProcess.query('insert into t values ($1, $2)', [2n, new Uint8Array([2])]);
    await inProcess.close();

    const again = await createPgliteWorkerSql({ dataDir });
    try {
      expect(await rowsOf(again, 'select k, v from t order by k')).toEqual([
        { k: 1n, v: new Uint8Array([1]) },
        { k: 2n, v: new Uint8Array([2]) },
      ]);
    } finally {
      await again.close();
    }
  });

  it('F-8: dumps a worker store into a tarball that restores in a worker or in process', async () => {
    const sql = await createPgliteWorkerSql({ from: await pgliteTemplate(false) });
    let backup: Blob;
    try {
      await sql.exec('create table t (k int4 primary key); insert into t values (7)');
      backup = await dumpPgliteSql(sql);
    } finally {
      await sql.close();
    }
    await expect(dumpPgliteSql(sql)).rejects.toThrow('only an open embedded (PGlite) store');
    for (const open of [createPgliteWorkerSql, createPgliteSql]) {
      const restored = await open({ from: backup });
      try {
        expect(await rowsOf(restored, 'select k from t')).toEqual([{ k: 7 }]);
      } finally {
        await restored.close();
      }
    }
  });

  it('F-9: a worker killed mid-transaction fails the pending and later calls at once, and nothing of it is committed', async () => {
    const { sql, dataDir } = await onDisk();
    await sql.exec('create table t (k int4 primary key)');
    const worker = pgliteWorkerOf(sql);
    if (!worker) throw new Error('no worker behind the store');
    let queued: Promise<unknown> | undefined;
    let pending: Promise<unknown> | undefined;
    let inserted = () => {};
    const open = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    const transaction = sql.transaction(async (tx) => {
      await tx.query('insert into t values (1)');
      inserted();
      pending = tx.query('select pg_sleep(5)').catch((e: unknown) => e);
      await worker.terminate();
      await pending;
      await tx.query('insert into t values (2)');
    });
    await open;
    queued = sql.query('select 1').catch((e: unknown) => e); // waits behind the transaction
    const failure = await transaction.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StorageError);
    expect((failure as Error).message).toMatch(
      /worker thread stopped \(exit code 1\).*may or may not have run/,
    );
    for (const call of [await pending, await queued, await sql.query('select 1').catch((e: unknown) => e)])
      expect(call).toBe(failure);
    await sql.close(); // frees the folder though the worker is gone
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    const reopened = await createPgliteSql({ dataDir });
    try {
      expect(await rowsOf(reopened, 'select k from t')).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  it('rolls back a transaction whose function throws, refuses its tx once it is over, and runs the next one', async () => {
    const sql = await createPgliteWorkerSql({ from: await pgliteTemplate(false) });
    try {
      await sql.exec('create table t (k int4 constraint t_pk primary key)');
      let leaked: Parameters<Parameters<Sql['transaction']>[0]>[0] | undefined;
      const duplicate = await sql
        .transaction(async (tx) => {
          leaked = tx;
          await tx.query('insert into t values (1)');
          await tx.query('insert into t values (1)');
        })
        .catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(QueryError);
      expect((duplicate as QueryError).code).toBe('23505');
      expect((duplicate as QueryError).constraint).toBe('t_pk');
      // No parameter reaches the error (PGlite puts them on its errors; they may be stanzas): the worker sends
      // PostgreSQL's fields only.
      const secret = 'AGE-SECRET-KEY-NOT-IN-ERRORS';
      const refused = await sql.query('select $1::text as s, 1 / 0 as n', [secret]).catch((e: unknown) => e);
      expect((refused as QueryError).code).toBe('22012');
      const cause = (refused as Error).cause as object;
      expect(JSON.stringify({ ...(refused as object), cause: { ...cause } })).not.toContain(secret);
      await expect(leaked?.query('select 1')).rejects.toThrow('Transaction is closed');
      await sql.transaction(async (tx) => {
        await tx.query('insert into t values (2)');
      });
      expect(await rowsOf(sql, 'select k from t')).toEqual([{ k: 2 }]);
    } finally {
      await sql.close();
    }
  });

  it('close() lets the statements already sent and the open transaction finish, then refuses every call', async () => {
    const { sql, dataDir } = await onDisk();
    await sql.exec('create table t (k int4 primary key)');
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let began = () => {};
    const open = new Promise<void>((resolve) => {
      began = resolve;
    });
    const transaction = sql.transaction(async (tx) => {
      await tx.query('insert into t values (1)');
      began();
      await held;
      await tx.query('insert into t values (2)');
      return 'committed';
    });
    await open;
    const queued = Array.from({ length: 20 }, (_, i) => sql.query('select $1::int4 as i', [i]));
    const closing = sql.close();
    expect(sql.close()).toBe(closing);
    await expect(sql.query('select 1')).rejects.toBeInstanceOf(StoreClosedError);
    await expect(sql.transaction(async () => {})).rejects.toBeInstanceOf(StoreClosedError);
    release();
    expect(await transaction).toBe('committed');
    expect((await Promise.all(queued)).map((r) => r.rows[0]?.i)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    await closing;
    await expect(sql.query('select 1')).rejects.toBeInstanceOf(StoreClosedError);
    const reopened = await createPgliteWorkerSql({ dataDir });
    try {
      expect(await rowsOf(reopened, 'select k from t order by k')).toEqual([{ k: 1 }, { k: 2 }]);
    } finally {
      await reopened.close();
    }
  });

  it('explains a folder that holds no database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carekey-pglite-worker-bad-'));
    const error = await createPgliteWorkerSql({ dataDir, from: new Blob([new Uint8Array([1, 2, 3])]) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(`cannot open the embedded database in '${dataDir}'`);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
