import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grantAccess, purposeOfUse, ScopeKind } from '@carekey/sdk/chain';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { openSql } from './db/openSql.ts';
import { type NodeLoop, startNode } from './startNode.ts';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const randomCid = () => `b${Array.from(randomBytes(58), (b) => BASE32[b % 32]).join('')}`;

async function waitFor<T>(read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for the node');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('startNode', () => {
  it('runs the indexer (a grant made on chain reaches `grants`) and re-applies a tombstone before serving (F-8)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carekey-start-node-'));
    const loopErrors: NodeLoop[] = [];
    const options = {
      dataDir,
      shredDelay: 0,
      chain: { port: 0 },
      api: { port: 0 },
      indexerPollInterval: 200,
      onLoopError: (loop: NodeLoop) => {
        loopErrors.push(loop);
      },
    };

    // 1. A grant made straight on chain (not through the node's API) is indexed by the running node.
    const first = await startNode(options);
    const patient = privateKeyToAccount(generatePrivateKey());
    const grantee = privateKeyToAccount(generatePrivateKey()).address;
    let grantId: Hex;
    try {
      expect(first.indexer.running).toBe(true);
      const now = (await first.chain.client.getBlock({ blockTag: 'latest' })).timestamp;
      ({ grantId } = await grantAccess({
        client: first.chain.client,
        consentRegistry: first.chain.deployment.contracts.consentRegistry.address,
        signer: patient,
        patient: patient.address,
        grantee,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: purposeOfUse('TREAT'),
        expiresAt: now + 3600n,
      }));
      const row = await waitFor(async () => {
        const { rows } = await first.sql.query<{
          patient: Uint8Array;
          grantee: Uint8Array;
          scope_kind: string;
        }>('select patient, grantee, scope_kind from grants where grant_id = $1', [hexToBytes(grantId)]);
        return rows[0];
      });
      expect(bytesToHex(row.patient)).toBe(patient.address.toLowerCase());
      expect(bytesToHex(row.grantee)).toBe(grantee.toLowerCase());
      expect(row.scope_kind).toBe('all');
    } finally {
      await first.stop();
    }
    expect(first.indexer.running).toBe(false);

    // 2. What a restored backup looks like: a record that has a tombstone, yet still its salt and a stanza.
    const recordId = bytesToHex(randomBytes(32));
    const other = bytesToHex(randomBytes(32));
    const sql = await openSql({ dataDir });
    try {
      for (const id of [recordId, other]) {
        await sql.query(
          `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf, salt)
           values ($1, $2, $2, $3, $4, $5, $6)`,
          [
            hexToBytes(id),
            hexToBytes(patient.address),
            randomCid(),
            randomBytes(32),
            randomBytes(32),
            randomBytes(32),
          ],
        );
        await sql.query('insert into stanzas (record_id, reader, stanza) values ($1, $2, $3)', [
          hexToBytes(id),
          hexToBytes(grantee),
          '-> X25519 c2hhcmU\nYm9keQ',
        ]);
      }
      await sql.query('insert into shred_tombstones (record_id) values ($1)', [hexToBytes(recordId)]);
    } finally {
      await sql.close();
    }

    // 3. On the next start, before the API serves, the tombstoned record loses its keys; the other keeps them.
    const second = await startNode(options);
    try {
      const { rows } = await second.sql.query<{
        record_id: Uint8Array;
        state: string;
        salt: Uint8Array | null;
      }>('select record_id, state, salt from records order by state');
      const byId = new Map(rows.map((r) => [bytesToHex(r.record_id), r]));
      expect(byId.get(recordId)).toMatchObject({ state: 'shredded', salt: null });
      expect(byId.get(other)).toMatchObject({ state: 'active' });
      expect(byId.get(other)?.salt).toHaveLength(32);
      const stanzas = await second.sql.query<{ record_id: Uint8Array }>('select record_id from stanzas');
      expect(stanzas.rows.map((r) => bytesToHex(r.record_id))).toEqual([other]);
      const log = await second.sql.query<{ reason: string }>(
        `select reason from access_log where $1 = any(record_ids)`,
        [hexToBytes(recordId)],
      );
      expect(log.rows.map((r) => r.reason)).toEqual(['tombstone re-applied']);
      // The grant indexed before the restart is still there (the cursor was kept, nothing replayed away).
      const grants = await second.sql.query('select 1 from grants where grant_id = $1', [
        hexToBytes(grantId),
      ]);
      expect(grants.rows).toHaveLength(1);
    } finally {
      await second.stop();
    }
    expect(loopErrors).toEqual([]);
  }, 300_000); // two starts, the first with PGlite's initdb: tens of seconds on a loaded machine
});
