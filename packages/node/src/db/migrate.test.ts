import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationError, type QueryError } from '@carekey/sdk/errors';
import { bytesToHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBatchIdSql } from '../vault/recordBatchId.ts';
import { proofNodes } from '../vault/recordProof.ts';
import { createPostgresSql } from './createPostgresSql.ts';
import { loadMigrations } from './loadMigrations.ts';
import { migrate } from './migrate.ts';
import type { Sql } from './Sql.ts';
import {
  openTestSql,
  pgliteTemplate,
  SQL_ENGINES,
  stopTestPostgresServer,
  testPostgresServer,
} from './testing/sqlEngines.ts';

// Compiling PGlite and running initdb takes seconds: do it once, in a hook, not in the first test.
beforeAll(() => pgliteTemplate(false), 180_000);
afterAll(stopTestPostgresServer);

const migrationsDir = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'carekey-migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

const NODE_TABLES = [
  'access_log',
  'chain_cursor',
  'chain_events',
  'grants',
  'outbox',
  'records',
  'schema_migrations',
  'stanzas',
  'used_nonces',
];

describe('loadMigrations', () => {
  it('reads the numbered files in order with their checksums', () => {
    const dir = migrationsDir({ '002_b.sql': 'select 2;', '001_a.sql': 'select 1;' });
    const migrations = loadMigrations({ dir });
    expect(migrations.map((m) => [m.version, m.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(migrations[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(loadMigrations()[0]).toMatchObject({ version: 1, name: 'initial' });
  });

  it('refuses a misnamed file, a gap and a duplicate number', () => {
    expect(() => loadMigrations({ dir: migrationsDir({ '1-initial.sql': '' }) })).toThrow(/misnamed/);
    expect(() => loadMigrations({ dir: migrationsDir({ '001_a.sql': '', '003_c.sql': '' }) })).toThrow(
      /migration 3 \(c\) is out of sequence: expected number 2/,
    );
    expect(() => loadMigrations({ dir: migrationsDir({ '001_a.sql': '', '0001_b.sql': '' }) })).toThrow(
      MigrationError,
    );
  });
});

describe.each(SQL_ENGINES)('migrate on %s', (engine) => {
  it('applies the node schema once and records version, name and checksum', async () => {
    const sql = await openTestSql(engine);
    try {
      const all = loadMigrations();
      const first = await migrate({ sql });
      expect(first.applied.map((m) => m.version)).toEqual(all.map((m) => m.version));
      expect(first.version).toBe(all.length);
      const again = await migrate({ sql });
      expect(again).toEqual({ applied: [], version: all.length });
      const { rows } = await sql.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
        'select * from schema_migrations order by version',
      );
      expect(rows).toHaveLength(all.length);
      expect(rows[0]).toMatchObject({ version: 1, name: 'initial', checksum: loadMigrations()[0]?.checksum });
      expect(rows[0]?.applied_at).toBeInstanceOf(Date);
      const tables = await sql.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(NODE_TABLES));
    } finally {
      await sql.close();
    }
  });

  it('refuses an applied migration that was changed since, and changes nothing', async () => {
    const sql = await openTestSql(engine);
    try {
      const dir = migrationsDir({ '001_a.sql': 'create table a (x int4);' });
      await migrate({ sql, migrations: loadMigrations({ dir }) });
      writeFileSync(join(dir, '001_a.sql'), 'create table a (x int8);');
      writeFileSync(join(dir, '002_b.sql'), 'create table b (x int4);');
      const error = await migrate({ sql, migrations: loadMigrations({ dir }) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(/migration 1 \(a\) was changed after it was applied/);
      expect((error as Error).message).toMatch(/add a new numbered migration/);
      const b = await sql.query(`select 1 from information_schema.tables where table_name = 'b'`);
      expect(b.rowCount).toBe(0);
    } finally {
      await sql.close();
    }
  });

  it('refuses a database migrated by a newer version', async () => {
    const sql = await openTestSql(engine);
    try {
      const dir = migrationsDir({ '001_a.sql': 'select 1;', '002_b.sql': 'select 2;' });
      await migrate({ sql, migrations: loadMigrations({ dir }) });
      const older = loadMigrations({ dir }).slice(0, 1);
      await expect(migrate({ sql, migrations: older })).rejects.toThrow(
        /has migration 2 \(b\), which this version of Carekey does not know/,
      );
    } finally {
      await sql.close();
    }
  });

  it('applies all pending migrations or none', async () => {
    const sql = await openTestSql(engine);
    try {
      const dir = migrationsDir({
        '001_a.sql': 'create table a (x int4);',
        '002_b.sql': 'create tabel b ();',
      });
      const error = await migrate({ sql, migrations: loadMigrations({ dir }) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(/migration 2 \(b\) failed: .*syntax error/);
      const a = await sql.query(
        `select 1 from information_schema.tables where table_name in ('a', 'schema_migrations')`,
      );
      expect(a.rowCount).toBe(0);
    } finally {
      await sql.close();
    }
  });

  it('lets concurrent starters apply each migration exactly once', async () => {
    const sql = await openTestSql(engine);
    // A PostgreSQL server: separate connection pools, as separate node processes would have.
    // PGlite: one process owns the folder, so the starters share the store.
    const starters: Sql[] =
      engine === 'postgres'
        ? await Promise.all(
            Array.from({ length: 4 }, async () => {
              const { rows } = await sql.query<{ db: string }>('select current_database() as db');
              return createPostgresSql({ url: (await testPostgresServer()).url(rows[0]?.db) });
            }),
          )
        : [sql, sql, sql, sql];
    try {
      const all = loadMigrations();
      const results = await Promise.all(starters.map((s) => migrate({ sql: s })));
      expect(results.flatMap((r) => r.applied.map((m) => m.version))).toEqual(all.map((m) => m.version));
      expect(results.map((r) => r.version)).toEqual([all.length, all.length, all.length, all.length]);
      const { rows } = await sql.query('select version from schema_migrations');
      expect(rows).toHaveLength(all.length);
    } finally {
      await Promise.all([...new Set([sql, ...starters])].map((s) => s.close()));
    }
  });
});

describe.each(SQL_ENGINES)('migration 011 (records batch id read from chain_batches) on %s', (engine) => {
  it('upgrades a store whose records hold batch ids: same ids through the join, one index scan, constraint kept', async () => {
    const sql = await openTestSql(engine);
    const b = (n: number, fill: number) => new Uint8Array(n).fill(fill);
    try {
      const all = loadMigrations();
      await migrate({ sql, migrations: all.slice(0, 10) });
      const root = b(32, 7);
      const publisher = b(20, 2);
      await sql.query(
        'insert into chain_batches (batch_id, publisher, root, count, block_number) values (5, $1, $2, 2, 9)',
        [publisher, root],
      );
      for (const [fill, batchId] of [
        [1, 5n],
        [3, null],
      ] as const) {
        await sql.query(
          `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf, leaf_index, proof,
             batch_root, salt, batch_id) values ($1, $2, $2, $3, $4, $4, 0, $5, $6, $4, $7)`,
          [
            b(32, fill),
            publisher,
            `b${'a'.repeat(58)}`,
            b(32, fill + 1),
            [b(32, 9)],
            batchId ? root : null,
            batchId,
          ],
        );
      }
      expect((await migrate({ sql, migrations: all.slice(0, 11) })).applied.map((m) => m.version)).toEqual([
        11,
      ]);
      const { rows } = await sql.query<{ batch_id: bigint | null }>(
        `select ${recordBatchIdSql('r')} as batch_id from records r order by r.record_id`,
      );
      expect(rows.map((r) => r.batch_id)).toEqual([5n, null]);
      const columns = await sql.query(
        `select 1 from information_schema.columns where table_name = 'records' and column_name = 'batch_id'`,
      );
      expect(columns.rowCount).toBe(0);
      // A leaf index without its proof is still refused.
      const refused = await sql
        .query('update records set leaf_index = null where record_id = $1', [b(32, 1)])
        .catch((e: unknown) => e);
      expect((refused as QueryError).code).toBe('23514');
      // The join can use chain_batches_root_idx (the planner prefers a scan only on a tiny table).
      await sql.transaction(async (tx) => {
        await tx.query('set local enable_seqscan = off');
        const plan = await tx.query<{ 'QUERY PLAN': string }>(
          `explain select ${recordBatchIdSql('r')} from records r where r.patient = $1`,
          [publisher],
        );
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/chain_batches_root_idx/);
      });
      // Migration 013: the batch-root index, which no query uses any more, is gone; the others stay.
      await migrate({ sql });
      const { rows: indexes } = await sql.query<{ indexname: string }>(
        `select indexname from pg_indexes where tablename = 'records' order by indexname`,
      );
      expect(indexes.map((i) => i.indexname)).toEqual([
        'records_category_idx',
        'records_patient_idx',
        'records_pkey',
      ]);
    } finally {
      await sql.close();
    }
  });
});

describe.each(SQL_ENGINES)('migration 014 (earlier category key seals) on %s', (engine) => {
  it('R-16 keeps the seal a v13 store holds as the first earlier seal; a seal of no escrowed identity is refused', async () => {
    const sql = await openTestSql(engine);
    const identity = new Uint8Array(20).fill(4);
    try {
      const all = loadMigrations();
      await migrate({ sql, migrations: all.slice(0, 13) });
      await sql.query('insert into category_keys (identity, key_id, sealed) values ($1, $2, $3)', [
        identity,
        new Uint8Array(32).fill(5),
        'sealed before 014',
      ]);
      expect((await migrate({ sql, migrations: all.slice(0, 14) })).applied.map((m) => m.version)).toEqual([
        14,
      ]);
      const { rows } = await sql.query<{ sealed: string }>(
        'select sealed from category_key_seals where identity = $1',
        [identity],
      );
      expect(rows.map((r) => r.sealed)).toEqual(['sealed before 014']);
      const orphan = await sql
        .query('insert into category_key_seals (identity, sealed) values ($1, $2)', [
          new Uint8Array(20).fill(6),
          'x',
        ])
        .catch((e: unknown) => e);
      expect((orphan as QueryError).code).toBe('23503');
    } finally {
      await sql.close();
    }
  });
});

describe.each(SQL_ENGINES)('migration 015 (records proof as one bytea) on %s', (engine) => {
  it('upgrades a v14 store: the same proofs as 32-byte nodes back to back, r.proof still a bytea[], checks kept', async () => {
    const sql = await openTestSql(engine);
    const b = (n: number, fill: number) => new Uint8Array(n).fill(fill);
    try {
      const all = loadMigrations();
      await migrate({ sql, migrations: all.slice(0, 14) });
      const proofs = [[b(32, 9), b(32, 8)], [], null] as const;
      for (const [i, proof] of proofs.entries()) {
        await sql.query(
          `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf, leaf_index, proof,
             batch_root, salt) values ($1, $2, $2, $3, $4, $4, $5, $6, $4, $4)`,
          [b(32, i + 1), b(20, 1), `b${'a'.repeat(58)}`, b(32, 5), proof === null ? null : 0, proof],
        );
      }
      expect((await migrate({ sql })).applied.map((m) => m.version)).toEqual([15]);
      const { rows } = await sql.query<{ proof_nodes: Uint8Array | null; proof: Uint8Array[] | null }>(
        'select r.proof_nodes, r.proof from records r order by r.record_id',
      );
      expect(rows.map((r) => (r.proof_nodes === null ? null : bytesToHex(r.proof_nodes)))).toEqual([
        `0x${'09'.repeat(32)}${'08'.repeat(32)}`,
        '0x',
        null,
      ]);
      expect(rows.map((r) => r.proof?.map((p) => bytesToHex(p)) ?? null)).toEqual([
        [`0x${'09'.repeat(32)}`, `0x${'08'.repeat(32)}`],
        [],
        null,
      ]);
      expect(rows.map((r) => proofNodes(r.proof_nodes))).toEqual(
        rows.map((r) => r.proof?.map((p) => bytesToHex(p)) ?? []),
      );
      const columns = await sql.query(
        `select 1 from information_schema.columns where table_name = 'records' and column_name = 'proof'`,
      );
      expect(columns.rowCount).toBe(0);
      // A proof that is not whole 32-byte nodes, or a leaf index without a proof, is refused.
      for (const change of [
        { text: 'update records set proof_nodes = $2 where record_id = $1', params: [b(32, 1), b(33, 1)] },
        { text: 'update records set proof_nodes = null where record_id = $1', params: [b(32, 1)] },
      ]) {
        const refused = await sql.query(change.text, change.params).catch((e: unknown) => e);
        expect((refused as QueryError).code).toBe('23514');
      }
    } finally {
      await sql.close();
    }
  });
});
