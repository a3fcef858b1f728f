/**
 * Group commit on the embedded store (THREAT-MODEL F-2: a key release's access-log row is committed before the key
 * leaves; many releases may share the commit, never skip it).
 */
import { QueryError } from '@carekey/sdk/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupCommit } from './createGroupCommit.ts';
import type { Sql } from './Sql.ts';
import { openTestSql } from './testing/sqlEngines.ts';

let sql: Sql;

beforeAll(async () => {
  sql = await openTestSql('pglite');
  await sql.exec('create table rows (k int4 primary key, tx text not null)');
}, 120_000);
afterAll(async () => {
  await sql?.close();
});

const insert = (k: number) => async (tx: Parameters<Parameters<Sql['transaction']>[0]>[0]) => {
  const { rows } = await tx.query<{ tx: string }>(
    'insert into rows (k, tx) values ($1, txid_current()::text) returning tx',
    [k],
  );
  return rows[0]?.tx as string;
};

/** Whether row `k` is visible outside any transaction, i.e. committed. */
const committed = async (k: number) =>
  (await sql.query('select 1 from rows where k = $1', [k])).rows.length === 1;

describe('createGroupCommit', () => {
  it('F-2: concurrent calls share transactions, and each resolves only once its row is committed', async () => {
    const inGroup = createGroupCommit({ sql });
    const seenCommitted: boolean[] = [];
    const txids = await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        inGroup(insert(k)).then(async (txid) => {
          seenCommitted.push(await committed(k));
          return txid;
        }),
      ),
    );
    expect(seenCommitted).toEqual(new Array(20).fill(true));
    // The first call ran alone at once; the 19 that arrived while it ran shared the next transaction.
    expect(new Set(txids).size).toBe(2);
    const { rows } = await sql.query<{ n: number }>('select count(*)::int as n from rows where k < 20');
    expect(rows[0]?.n).toBe(20);
  });

  it('F-2: a call that fails in a shared transaction fails alone; the others are committed', async () => {
    const inGroup = createGroupCommit({ sql });
    const keys = [100, 101, 5 /* already stored: a duplicate key */, 102, 103];
    const outcomes = await Promise.allSettled(keys.map((k) => inGroup(insert(k))));
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(QueryError);
    for (const k of [100, 101, 102, 103]) expect(await committed(k)).toBe(true);
    const { rows } = await sql.query<{ tx: string }>('select tx from rows where k = 5');
    expect(rows).toHaveLength(1); // the first row with key 5 is untouched
  });

  it('caps a transaction at maxBatch calls', async () => {
    const inGroup = createGroupCommit({ sql, maxBatch: 4 });
    const txids = await Promise.all(Array.from({ length: 9 }, (_, i) => inGroup(insert(200 + i))));
    // 1 alone, then 4 + 4.
    expect(new Set(txids).size).toBe(3);
  });
});
