import { randomBytes } from 'node:crypto';
import { type Address, bytesToHex, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../db/Sql.ts';
import { openTestSql } from '../db/testing/sqlEngines.ts';
import { createMemoryNonceStore } from './createMemoryNonceStore.ts';
import { createSqlNonceStore } from './createSqlNonceStore.ts';
import type { NonceStore } from './NonceStore.ts';

let sql: Sql | undefined;
// PGlite's initdb takes seconds (tens on a loaded machine): once per file, outside the tests' own timeout.
beforeAll(async () => {
  sql = await openTestSql('pglite', { migrated: true });
}, 300_000);
afterAll(async () => {
  await sql?.close();
});

const address = (): Address => bytesToHex(randomBytes(20)) as Address;
const nonce = (): Hex => bytesToHex(randomBytes(32));
const soon = () => BigInt(Math.floor(Date.now() / 1000) + 120);

const stores: [string, () => Promise<NonceStore>][] = [
  ['sql (PGlite)', async () => createSqlNonceStore({ sql: sql as Sql, pruneEvery: 3 })],
  ['memory', async () => createMemoryNonceStore()],
];

describe.each(stores)('%s nonce store', (_name, open) => {
  it('T-1 accepts a (signer, nonce) once, and the same nonce for another signer', async () => {
    const store = await open();
    const signer = address();
    const n = nonce();
    expect(await store.use({ signer, nonce: n, expiresAt: soon() })).toBe(true);
    expect(await store.use({ signer, nonce: n, expiresAt: soon() })).toBe(false);
    expect(
      await store.use({
        signer: signer.toUpperCase().replace('0X', '0x') as Address,
        nonce: n,
        expiresAt: soon(),
      }),
    ).toBe(false);
    expect(await store.use({ signer: address(), nonce: n, expiresAt: soon() })).toBe(true);
  });

  it('T-1 of 20 concurrent uses of one nonce exactly one wins, pruning included', async () => {
    const store = await open();
    const signer = address();
    const n = nonce();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.use({ signer, nonce: n, expiresAt: soon() })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
