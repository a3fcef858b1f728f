import { randomBytes } from 'node:crypto';
import { X25519_ATTRIBUTE_NAME } from '@carekey/sdk/chain';
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQL_ENGINES, stopTestPostgresServer } from '../db/testing/sqlEngines.ts';
import type { IndexerChange } from './createIndexer.ts';
import { readIndexedEncryptionKey } from './readIndexedEncryptionKey.ts';
import { readIndexedGrant } from './readIndexedGrant.ts';
import { type IndexerTestbed, startIndexerTestbed } from './testing/startIndexerTestbed.ts';

let bed: IndexerTestbed;
afterAll(stopTestPostgresServer);

const hex = (b: Uint8Array) => bytesToHex(b);
const lower = (a: Address) => a.toLowerCase();

async function count(table: string): Promise<number> {
  const { rows } = await bed.sql.query<{ n: bigint }>(`select count(*) as n from ${table}`);
  return Number(rows[0]?.n);
}

async function insertRecord(recordId: Hex, patient: Address): Promise<void> {
  await bed.sql.query(
    `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf, salt)
     values ($1, $2, $2, $3, $4, $5, $6)`,
    [
      hexToBytes(recordId),
      hexToBytes(patient),
      `b${'a'.repeat(58)}`,
      randomBytes(32),
      randomBytes(32),
      randomBytes(32),
    ],
  );
}

async function recordState(recordId: Hex): Promise<string | undefined> {
  const { rows } = await bed.sql.query<{ state: string }>('select state from records where record_id = $1', [
    hexToBytes(recordId),
  ]);
  return rows[0]?.state;
}

describe.each(SQL_ENGINES)('createIndexer on %s', (engine) => {
  beforeAll(async () => {
    bed = await startIndexerTestbed({ engine });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('projects grants, revocations (T-4), access requests, DID keys and owners, batches and shreds into SQL', async () => {
    const patient = bed.newKey();
    const grantee = bed.newKey();
    const requester = bed.newKey();
    const hospital = bed.newKey();
    const changes: IndexerChange[] = [];
    const indexer = bed.indexer();
    indexer.subscribe((change) => {
      changes.push(change);
    });

    const kept = await bed.grant(patient, grantee.address);
    const revoked = await bed.grant(patient, grantee.address);
    const revokedIn = await bed.revoke(patient, revoked);
    const approvedRequest = await bed.request(requester, patient.address);
    const approvingGrant = await bed.grant(patient, requester.address, { requestId: approvedRequest });
    const deniedRequest = await bed.request(requester, patient.address);
    await bed.deny(patient, deniedRequest);
    const key = randomBytes(32);
    await bed.setKey(grantee, key);
    const newOwner = bed.newKey();
    await bed.changeOwner(hospital, newOwner.address);
    const { batchId, recordIds } = await bed.publish(patient, 4);
    const [known, unknown, cancelled, pending] = recordIds as [Hex, Hex, Hex, Hex];
    await insertRecord(known, patient.address);
    await insertRecord(cancelled, patient.address);
    await insertRecord(pending, patient.address);
    await bed.shred(patient, known, 'request');
    await bed.shred(patient, known, 'finalize');
    await bed.shred(patient, unknown, 'request');
    await bed.shred(patient, unknown, 'finalize');
    await bed.shred(patient, cancelled, 'request');
    await bed.shred(patient, cancelled, 'cancel');
    await bed.shred(patient, pending, 'request');

    const result = await indexer.syncOnce();
    const head = await bed.relayer().getBlock({ blockTag: 'latest' });
    expect(result.lastBlock).toBe(head.number);
    expect(result.events).toBe(changes.length);

    const { rows: grants } = await bed.sql.query<{
      grant_id: Uint8Array;
      patient: Uint8Array;
      grantee: Uint8Array;
      scope_kind: string;
      purpose: string;
      expires_at: bigint;
      created_block: bigint;
      revoked_block: bigint | null;
    }>('select * from grants order by created_block');
    expect(grants.map((g) => hex(g.grant_id))).toEqual([kept, revoked, approvingGrant]);
    const [first, second] = grants;
    expect(hex(first?.patient ?? new Uint8Array())).toBe(lower(patient.address));
    expect(hex(first?.grantee ?? new Uint8Array())).toBe(lower(grantee.address));
    expect(first).toMatchObject({ scope_kind: 'all', purpose: 'TREAT', revoked_block: null });
    expect(first?.expires_at).toBeGreaterThan(head.timestamp);
    expect(second?.revoked_block).toBe(revokedIn);
    const at = { number: head.number, timestamp: head.timestamp };
    expect((await readIndexedGrant({ sql: bed.sql, grantId: kept, head: at, confirmations: 1 })).state).toBe(
      'active',
    );
    expect(
      (await readIndexedGrant({ sql: bed.sql, grantId: revoked, head: at, confirmations: 1 })).state,
    ).toBe('revoked');
    expect(
      (
        await readIndexedGrant({
          sql: bed.sql,
          grantId: kept,
          head: { ...at, timestamp: first?.expires_at ?? 0n },
          confirmations: 1,
        })
      ).state,
    ).toBe('expired');

    const { rows: requests } = await bed.sql.query<{
      request_id: Uint8Array;
      status: string;
      grant_id: Uint8Array | null;
      purpose: string;
    }>('select request_id, status, grant_id, purpose from access_requests order by requested_block');
    expect(
      requests.map((r) => [hex(r.request_id), r.status, r.grant_id && hex(r.grant_id), r.purpose]),
    ).toEqual([
      [approvedRequest, 'approved', approvingGrant, 'HRESCH'],
      [deniedRequest, 'denied', null, 'HRESCH'],
    ]);

    const { rows: keys } = await bed.sql.query<{ identity: Uint8Array; value: Uint8Array; valid_to: string }>(
      'select identity, value, valid_to from did_encryption_keys',
    );
    expect(keys).toHaveLength(1);
    expect(hex(keys[0]?.identity ?? new Uint8Array())).toBe(lower(grantee.address));
    expect(Buffer.from(keys[0]?.value ?? new Uint8Array()).equals(key)).toBe(true);
    expect(BigInt(keys[0]?.valid_to ?? '0')).toBeGreaterThan(head.timestamp);
    expect(
      Buffer.from(
        (await readIndexedEncryptionKey({
          sql: bed.sql,
          identity: grantee.address,
          chainTime: head.timestamp,
        })) ?? new Uint8Array(),
      ).equals(key),
    ).toBe(true);
    expect(
      await readIndexedEncryptionKey({
        sql: bed.sql,
        identity: grantee.address,
        chainTime: BigInt(keys[0]?.valid_to ?? '0'),
      }),
    ).toBeUndefined();
    expect(
      await readIndexedEncryptionKey({ sql: bed.sql, identity: patient.address, chainTime: head.timestamp }),
    ).toBeUndefined();
    const { rows: owners } = await bed.sql.query<{ identity: Uint8Array; owner: Uint8Array }>(
      'select identity, owner from did_owners',
    );
    expect(owners.map((o) => [hex(o.identity), hex(o.owner)])).toEqual([
      [lower(hospital.address), lower(newOwner.address)],
    ]);

    const { rows: batches } = await bed.sql.query<{ batch_id: bigint; publisher: Uint8Array; count: bigint }>(
      'select batch_id, publisher, count from chain_batches',
    );
    expect(batches.map((b) => [b.batch_id, hex(b.publisher), b.count])).toEqual([
      [batchId, lower(patient.address), 4n],
    ]);

    // Shreds: records.state where the node has the record, tombstones whatever it knows.
    expect(await recordState(known)).toBe('shredded');
    expect(await recordState(cancelled)).toBe('active');
    expect(await recordState(pending)).toBe('pending_shred');
    const { rows: tombstones } = await bed.sql.query<{ record_id: Uint8Array }>(
      'select record_id from shred_tombstones order by record_id',
    );
    expect(tombstones.map((t) => hex(t.record_id)).sort()).toEqual([known, unknown].sort());
    const { rows: salts } = await bed.sql.query<{ salt: Uint8Array | null }>(
      'select salt from records where record_id = $1',
      [hexToBytes(known)],
    );
    expect(salts[0]?.salt).toBeNull();

    // chain_events holds every decoded event once; the subscriber saw each in order.
    const names = changes.flatMap((c) => (c.kind === 'event' ? [c.event.eventName] : []));
    const { rows: stored } = await bed.sql.query<{ name: string }>(
      'select name from chain_events order by block_number, log_index',
    );
    expect(stored.map((r) => r.name)).toEqual(names);
    for (const name of [
      'GrantCreated',
      'GrantRevoked',
      'AccessRequested',
      'AccessRequestApproved',
      'AccessRequestDenied',
      'DIDAttributeChanged',
      'DIDOwnerChanged',
      'BatchPublished',
      'ShredRequested',
      'ShredCancelled',
      'Shredded',
    ])
      expect(names).toContain(name);
    const attribute = changes.find((c) => c.kind === 'event' && c.event.eventName === 'DIDAttributeChanged');
    expect(
      attribute?.kind === 'event' &&
        attribute.event.eventName === 'DIDAttributeChanged' &&
        attribute.event.args.name,
    ).toBe(X25519_ATTRIBUTE_NAME);
  });

  it('resumes after a restart from the cursor, without duplicates, in bounded ranges', async () => {
    const patient = bed.newKey();
    const grantee = bed.newKey();
    const before = await count('chain_events');
    const first = bed.indexer({ maxBlockRange: 2 });
    await first.syncOnce();
    await bed.grant(patient, grantee.address);
    await bed.grant(patient, grantee.address);
    await first.syncOnce();
    const afterFirst = await count('chain_events');
    expect(afterFirst).toBe(before + 2);

    // "Restart": a new indexer on the same store picks up at the cursor.
    const second = bed.indexer({ maxBlockRange: 2 });
    const grantId = await bed.grant(patient, grantee.address);
    await bed.revoke(patient, grantId);
    await bed.mine(5);
    const result = await second.syncOnce();
    expect(result.events).toBe(2);
    expect(await count('chain_events')).toBe(afterFirst + 2);
    expect((await second.syncOnce()).events).toBe(0);
    const { rows } = await bed.sql.query<{ n: bigint }>(
      'select count(*) as n from (select block_hash, log_index from chain_events group by 1, 2 having count(*) > 1) d',
    );
    expect(rows[0]?.n).toBe(0n);
    const head = await bed.relayer().getBlockNumber();
    const { rows: cursor } = await bed.sql.query<{ last_block: bigint; last_block_hash: Uint8Array }>(
      'select last_block, last_block_hash from chain_cursor',
    );
    expect(cursor[0]?.last_block).toBe(head);
    expect(hex(cursor[0]?.last_block_hash ?? new Uint8Array())).toBe((await bed.relayer().getBlock()).hash);
  });

  it('counts a grant only after `confirmations` blocks, a revocation the moment it is seen (T-5)', async () => {
    const patient = bed.newKey();
    const grantee = bed.newKey();
    const indexer = bed.indexer({ confirmations: 3 });
    const grantId = await bed.grant(patient, grantee.address);
    await indexer.syncOnce();
    const headAt = async () => {
      const block = await bed.relayer().getBlock({ blockTag: 'latest' });
      return { number: block.number, timestamp: block.timestamp };
    };
    const state = async () =>
      (
        await readIndexedGrant({
          sql: bed.sql,
          grantId,
          head: await headAt(),
          confirmations: indexer.confirmations,
        })
      ).state;
    expect(await state()).toBe('unconfirmed');
    await bed.mine(1);
    await indexer.syncOnce();
    expect(await state()).toBe('unconfirmed');
    await bed.mine(1);
    await indexer.syncOnce();
    expect(await state()).toBe('active');
    // The revocation counts at depth 0, with no confirmation.
    await bed.revoke(patient, grantId);
    await indexer.syncOnce();
    expect(await state()).toBe('revoked');
    expect(
      (
        await readIndexedGrant({
          sql: bed.sql,
          grantId: `0x${'ab'.repeat(32)}`,
          head: await headAt(),
          confirmations: 1,
        })
      ).state,
    ).toBe('unknown');
  });

  it('runs subscribers inside the range transaction: a failing one rolls the range back and it is retried (T-4)', async () => {
    const patient = bed.newKey();
    const grantee = bed.newKey();
    const indexer = bed.indexer();
    await indexer.syncOnce();
    const grantId = await bed.grant(patient, grantee.address);
    await bed.revoke(patient, grantId);
    let fail = true;
    const seen: Hex[] = [];
    const unsubscribe = indexer.subscribe(async (change, tx) => {
      if (change.kind !== 'event' || change.event.eventName !== 'GrantRevoked') return;
      // What a vault does here: delete the grantee's stanzas, in the same transaction.
      const { rows } = await tx.query<{ revoked_block: bigint | null }>(
        'select revoked_block from grants where grant_id = $1',
        [hexToBytes(change.event.args.grantId)],
      );
      expect(rows[0]?.revoked_block).toBe(change.event.blockNumber);
      if (fail) throw new Error('vault unavailable');
      seen.push(change.event.args.grantId);
    });
    await expect(indexer.syncOnce()).rejects.toThrow('vault unavailable');
    const { rows } = await bed.sql.query('select 1 from grants where grant_id = $1', [hexToBytes(grantId)]);
    expect(rows).toHaveLength(0);
    fail = false;
    await indexer.syncOnce();
    expect(seen).toEqual([grantId]);
    unsubscribe();
  });
});
