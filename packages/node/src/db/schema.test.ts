import { randomBytes } from 'node:crypto';
import { QueryError } from '@carekey/sdk/errors';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimNonce } from './claimNonce.ts';
import { loadMigrations } from './loadMigrations.ts';
import { migrate } from './migrate.ts';
import type { Sql } from './Sql.ts';
import { openTestSql, pgliteTemplate, SQL_ENGINES, stopTestPostgresServer } from './testing/sqlEngines.ts';

// Compiling PGlite and running initdb takes seconds: do it once, in a hook, not in the first test.
beforeAll(() => pgliteTemplate(false), 180_000);
afterAll(stopTestPostgresServer);

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const BLOB_ID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';

const insertRecord = (sql: Sql, recordId: Uint8Array, patient: Uint8Array) =>
  sql.query(
    `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf)
     values ($1, $2, $3, $4, $5, $6)`,
    [recordId, patient, bytes(20), BLOB_ID, bytes(32), bytes(32)],
  );

const insertAudit = (sql: Sql, patient: Uint8Array, action = 'release') =>
  sql.query<{ id: bigint }>(
    `insert into access_log (patient, actor, action, record_ids, outcome, request_digest, signature)
     values ($1, $2, $3, $4, 'allowed', $5, $6) returning id`,
    [patient, bytes(20), action, [bytes(32)], bytes(32), bytes(65)],
  );

describe.each(SQL_ENGINES)('initial schema on %s', (engine) => {
  let sql: Sql;
  beforeAll(async () => {
    // The initial schema as 001 defines it; later migrations are tested by their authors.
    sql = await openTestSql(engine);
    await migrate({ sql, migrations: loadMigrations().slice(0, 1) });
  });
  afterAll(async () => {
    await sql?.close();
  });

  it('T-27 keeps access_log append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const patient = bytes(20);
    const { rows } = await insertAudit(sql, patient);
    const id = rows[0]?.id;
    expect(typeof id).toBe('bigint');
    const attempts = [
      () => sql.query(`update access_log set outcome = 'denied' where id = $1`, [id]),
      () => sql.query('delete from access_log where id = $1', [id]),
      () => sql.exec('truncate access_log'),
      () =>
        sql.transaction(async (tx) => {
          await tx.query('delete from access_log');
        }),
    ];
    for (const attempt of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).code).toBe('P0001');
      expect((error as Error).message).toMatch(/access_log is append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    }
    const after = await sql.query<{ outcome: string; patient: Uint8Array }>(
      'select outcome, patient from access_log where id = $1',
      [id],
    );
    expect(after.rows).toEqual([{ outcome: 'allowed', patient }]);
  });

  it('R-2 refuses an audit row without an actor or with an unknown action', async () => {
    const noActor = await sql
      .query(
        `insert into access_log (patient, actor, action, outcome) values ($1, null, 'release', 'allowed')`,
        [bytes(20)],
      )
      .catch((e: unknown) => e);
    expect((noActor as QueryError).code).toBe('23502');
    const badAction = await insertAudit(sql, bytes(20), 'peek').catch((e: unknown) => e);
    expect((badAction as QueryError).code).toBe('23514');
  });

  it('T-1 lets exactly one of many concurrent claims of a nonce through', async () => {
    const signer = bytes(20);
    const nonce = bytes(32);
    const expiresAt = new Date(Date.now() + 300_000);
    const claims = await Promise.all(
      Array.from({ length: 40 }, () =>
        sql.transaction((tx) => claimNonce({ sql: tx, signer, nonce, expiresAt })),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    // Another signer may use the same nonce.
    expect(await claimNonce({ sql, signer: bytes(20), nonce, expiresAt })).toBe(true);
  });

  it('T-1 accepts each distinct (signer, nonce) once whatever the interleaving (property)', async () => {
    const signers = [bytes(20), bytes(20)];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 5 })), {
          minLength: 1,
          maxLength: 20,
        }),
        async (requests) => {
          const run = bytes(4); // keeps runs apart: nonces are run ‖ n
          const results = await Promise.all(
            requests.map(([s, n]) =>
              claimNonce({
                sql,
                signer: signers[s] as Uint8Array,
                nonce: new Uint8Array([...run, n]),
                expiresAt: new Date(Date.now() + 60_000),
              }),
            ),
          );
          const distinct = new Set(requests.map(([s, n]) => `${s}:${n}`)).size;
          expect(results.filter(Boolean)).toHaveLength(distinct);
        },
      ),
      { numRuns: engine === 'pglite' ? 25 : 50 },
    );
  });

  it('stores records with stanzas, and refuses what the schema forbids', async () => {
    const recordId = bytes(32);
    const patient = bytes(20);
    await insertRecord(sql, recordId, patient);
    await sql.query('insert into stanzas (record_id, reader, stanza) values ($1, $2, $3)', [
      recordId,
      patient,
      '-> X25519 abc\nZGVm',
    ]);
    const refusals: [() => Promise<unknown>, string][] = [
      [() => insertRecord(sql, bytes(31), patient), '23514'], // record id not 32 bytes
      [() => insertRecord(sql, recordId, patient), '23505'], // same record twice
      [
        () =>
          sql.query('insert into stanzas (record_id, reader, stanza) values ($1, $2, $3)', [
            recordId,
            bytes(20),
            'AGE-SECRET-KEY-1QQQQ',
          ]),
        '23514', // a plaintext identity is not a stanza
      ],
      [
        () =>
          sql.query('insert into stanzas (record_id, reader, stanza) values ($1, $2, $3)', [
            bytes(32),
            bytes(20),
            '-> X25519 abc\nZGVm',
          ]),
        '23503', // stanza of an unknown record
      ],
      [() => sql.query(`update records set state = 'deleted' where record_id = $1`, [recordId]), '23514'],
      [() => sql.query('update records set batch_id = 1 where record_id = $1', [recordId]), '23514'], // no proof
    ];
    for (const [attempt, code] of refusals) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).code).toBe(code);
    }
    await sql.query('update records set batch_id = 0, leaf_index = 3, proof = $2 where record_id = $1', [
      recordId,
      [bytes(32), bytes(32)],
    ]);
    const bad = await sql
      .query('update records set proof = $2 where record_id = $1', [recordId, [bytes(31)]])
      .catch((e: unknown) => e);
    expect((bad as QueryError).code).toBe('23514');
    await sql.query(`delete from records where record_id = $1`, [recordId]);
    const left = await sql.query('select 1 from stanzas where record_id = $1', [recordId]);
    expect(left.rowCount).toBe(0);
  });

  it('indexes chain events by block hash and log index', async () => {
    const blockHash = bytes(32);
    const insert = () =>
      sql.query(
        `insert into chain_events (block_number, block_hash, log_index, tx_hash, contract, name, args)
         values ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
        [12n, blockHash, 0, bytes(32), bytes(20), 'GrantCreated', JSON.stringify({ expiresAt: '99' })],
      );
    await insert();
    expect(((await insert().catch((e: unknown) => e)) as QueryError).code).toBe('23505');
    const { rows } = await sql.query('select block_number, args from chain_events where block_hash = $1', [
      blockHash,
    ]);
    expect(rows).toEqual([{ block_number: 12n, args: { expiresAt: '99' } }]);
  });
});
