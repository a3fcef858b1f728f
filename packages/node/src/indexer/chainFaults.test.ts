/**
 * The indexer against a chain that misbehaves: reorgs (F-5, T-5), an RPC outage and a killed anvil (F-4), a reset
 * chain. Real anvil (snapshot/revert for reorgs, stop/kill/restart on the same port) and PGlite; no mocks.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IndexerChainMismatchError } from '@carekey/sdk/errors';
import { type Address, bytesToHex, type Hex, hexToBytes, hexToNumber } from 'viem';
import { getLogs } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBatchIdSql } from '../vault/recordBatchId.ts';
import { packProof } from '../vault/recordProof.ts';
import type { IndexerChange } from './createIndexer.ts';
import { readIndexedGrant } from './readIndexedGrant.ts';
import { type IndexerTestbed, startIndexerTestbed } from './testing/startIndexerTestbed.ts';

let bed: IndexerTestbed;
beforeAll(async () => {
  bed = await startIndexerTestbed();
});
afterAll(async () => {
  await bed?.stop();
});

async function grantIds(): Promise<Hex[]> {
  const { rows } = await bed.sql.query<{ grant_id: Uint8Array }>(
    'select grant_id from grants order by created_block',
  );
  return rows.map((r) => bytesToHex(r.grant_id));
}

/** The index holds exactly the chain's Carekey logs: same (block hash, log index) pairs. */
async function expectEventsMatchChain(): Promise<void> {
  const { didRegistry, recordRegistry, consentRegistry } = bed.contracts();
  const logs = await getLogs(bed.relayer(), {
    address: [didRegistry, recordRegistry, consentRegistry],
    fromBlock: BigInt(bed.chain.deployment.deployBlock),
    toBlock: 'latest',
  });
  const { rows } = await bed.sql.query<{ block_hash: Uint8Array; log_index: number }>(
    'select block_hash, log_index from chain_events order by block_number, log_index',
  );
  expect(rows.map((r) => `${bytesToHex(r.block_hash)}:${r.log_index}`)).toEqual(
    logs.map((l) => `${l.blockHash}:${l.logIndex}`),
  );
}

/** Stores a published batch's records as the vault does (root, leaf, index, proof; no batch id yet). */
async function storeRecords(
  publisher: Address,
  batch: { root: Hex; recordIds: Hex[]; leafHashes: Hex[]; proofs: Hex[][] },
): Promise<void> {
  for (const [i, recordId] of batch.recordIds.entries())
    await bed.sql.query(
      `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf, leaf_index, proof_nodes, batch_root, salt)
       values ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        hexToBytes(recordId),
        hexToBytes(publisher),
        `b${'a'.repeat(58)}`,
        randomBytes(32),
        hexToBytes(batch.leafHashes[i] as Hex),
        i,
        packProof(batch.proofs[i] ?? []),
        hexToBytes(batch.root),
        randomBytes(32),
      ],
    );
}

/** The batch id of each record as the vault reads it (`null` while its batch is not on chain). */
async function batchIds(recordIds: Hex[]): Promise<(string | null)[]> {
  const ids: (string | null)[] = [];
  for (const id of recordIds) {
    const { rows } = await bed.sql.query<{ batch_id: bigint | null }>(
      `select ${recordBatchIdSql('r')} as batch_id from records r where r.record_id = $1`,
      [hexToBytes(id)],
    );
    ids.push(rows[0]?.batch_id == null ? null : String(rows[0].batch_id));
  }
  return ids;
}

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * A real JSON-RPC proxy in front of anvil that refuses `eth_getLogs` over more than `maxSpan` blocks, as hosted
 * providers do (e.g. "query exceeds max block range"). Everything else is forwarded as is.
 */
async function startCappedRpc(
  upstream: string,
  maxSpan: number,
): Promise<{ url: string; refused: () => number; close(): Promise<void> }> {
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const call = JSON.parse(body) as {
        id: number;
        method: string;
        params?: [{ fromBlock: Hex; toBlock: Hex }];
      };
      const filter = call.params?.[0];
      if (
        call.method === 'eth_getLogs' &&
        filter &&
        hexToNumber(filter.toBlock) - hexToNumber(filter.fromBlock) + 1 > maxSpan
      ) {
        refused++;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: call.id,
            error: { code: -32005, message: `query exceeds max block range ${maxSpan}` },
          }),
        );
        return;
      }
      const answer = await fetch(upstream, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      res.setHeader('content-type', 'application/json');
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refused: () => refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('indexer on a misbehaving chain', () => {
  it('detects a reorg, rolls back the replaced blocks and follows the new chain; a seen revocation stays (F-5, T-5)', async () => {
    const patient = bed.newKey();
    const grantee = bed.newKey();
    const indexer = bed.indexer();
    const changes: IndexerChange[] = [];
    indexer.subscribe((change) => {
      changes.push(change);
    });
    const kept = await bed.grant(patient, grantee.address);
    await indexer.syncOnce();
    const forkBase = await bed.relayer().getBlockNumber();
    const snapshot = await bed.snapshot();

    // Fork A: the patient revokes `kept`, makes another grant, a provider asks for access.
    await bed.revoke(patient, kept);
    const lost = await bed.grant(patient, grantee.address);
    await bed.request(bed.newKey(), patient.address);
    await indexer.syncOnce();
    expect(await grantIds()).toEqual([kept, lost]);

    // Fork B replaces every block after forkBase and grows longer than A.
    await bed.revert(snapshot);
    const other = bed.newKey();
    const replacement = await bed.grant(other, grantee.address);
    await bed.mine(4);
    const result = await indexer.syncOnce();
    expect(result.rolledBackFrom).toBe(forkBase + 1n);

    expect(await grantIds()).toEqual([kept, replacement]);
    const { rows: requests } = await bed.sql.query('select 1 from access_requests');
    expect(requests).toHaveLength(0);
    await expectEventsMatchChain();
    // The projection follows the new chain (no revocation in it)...
    const { rows } = await bed.sql.query<{ revoked_block: bigint | null }>(
      'select revoked_block from grants where grant_id = $1',
      [hexToBytes(kept)],
    );
    expect(rows[0]?.revoked_block).toBeNull();
    // ...but the revocation, once seen, is honoured at any depth until re-broadcast (T-5).
    const head = await bed.relayer().getBlock();
    const at = { number: head.number, timestamp: head.timestamp };
    const keptGrant = await readIndexedGrant({ sql: bed.sql, grantId: kept, head: at, confirmations: 1 });
    expect(keptGrant.state).toBe('revoked');
    expect(keptGrant.grant?.revocationSeenBlock).toBe(forkBase + 1n);
    expect(
      (await readIndexedGrant({ sql: bed.sql, grantId: replacement, head: at, confirmations: 1 })).state,
    ).toBe('active');
    const rollback = changes.find((c) => c.kind === 'rollback');
    expect(rollback?.kind === 'rollback' && rollback.removed.map((e) => e.eventName)).toEqual([
      'GrantRevoked',
      'GrantCreated',
      'AccessRequested',
    ]);
  });

  it('detects a chain that became shorter than the cursor (reorg to a lower head) (F-5)', async () => {
    const patient = bed.newKey();
    const indexer = bed.indexer();
    await indexer.syncOnce();
    const snapshot = await bed.snapshot();
    await bed.mine(3);
    const lost = await bed.grant(patient, bed.newKey().address);
    await indexer.syncOnce();
    expect(await grantIds()).toContain(lost);
    await bed.revert(snapshot);
    const result = await indexer.syncOnce();
    expect(result.rolledBackFrom).toBeDefined();
    expect(await grantIds()).not.toContain(lost);
    const next = await bed.grant(patient, bed.newKey().address);
    await indexer.syncOnce();
    expect(await grantIds()).toContain(next);
    await expectEventsMatchChain();
  });

  it('halves a block range the provider refuses and still reads every event', async () => {
    const capped = await startCappedRpc(bed.rpcUrl, 3);
    try {
      const indexer = bed.indexer({ rpcUrl: capped.url, maxBlockRange: 64 });
      await indexer.syncOnce();
      const patient = bed.newKey();
      for (let i = 0; i < 4; i++) {
        await bed.grant(patient, bed.newKey().address);
        await bed.mine(2);
      }
      const result = await indexer.syncOnce();
      expect(result.events).toBe(4);
      expect(capped.refused()).toBeGreaterThan(0);
      await expectEventsMatchChain();
    } finally {
      await capped.close();
    }
  });

  it('keeps polling through an RPC outage and catches up after anvil restarts, even killed with lost blocks (F-4)', async () => {
    const errors: unknown[] = [];
    const indexer = bed.indexer({ pollInterval: 100, onError: (error) => errors.push(error) });
    const patient = bed.newKey();
    const indexed = async (grantId: Hex) => (await grantIds()).includes(grantId);
    indexer.start();
    const first = await bed.grant(patient, bed.newKey().address);
    await until('the first grant', () => indexed(first));

    // Graceful stop: the RPC is down, the loop reports errors and keeps going.
    await bed.stopChain();
    await until('an RPC error', async () => errors.length >= 2);
    expect(indexer.running).toBe(true);
    // Restart with no periodic state dump, so a kill below loses what came after this start.
    const restarted = await bed.restartChain({ stateInterval: 3600 });
    expect(restarted.status).toBe('reused');
    const second = await bed.grant(patient, bed.newKey().address);
    await until('the grant made after the restart', () => indexed(second));

    // kill -9: anvil comes back from its last dump, without `second`'s block; the indexer rolls it back.
    await bed.killChain();
    await bed.restartChain();
    expect(bed.chain.status).toBe('reused');
    const third = await bed.grant(bed.newKey(), bed.newKey().address);
    await until('the grant made after the kill', () => indexed(third));
    await until('the lost grant to be rolled back', async () => !(await indexed(second)));
    expect(await indexed(first)).toBe(true);
    await indexer.stop();
    expect(indexer.running).toBe(false);
    await expectEventsMatchChain();
  });

  it('detects a reset chain (new anvil, same data folder) and replays from the new deploy block', {
    retry: 2,
  }, async () => {
    const indexer = bed.indexer();
    await bed.grant(bed.newKey(), bed.newKey().address);
    await indexer.syncOnce();
    expect((await grantIds()).length).toBeGreaterThan(0);

    const chain = await bed.restartChain({ wipe: true });
    expect(chain.reset).toBe(true);
    // The old indexer's deployment does not exist on this chain: it says so instead of indexing nonsense.
    await expect(indexer.syncOnce()).rejects.toBeInstanceOf(IndexerChainMismatchError);

    const fresh = bed.indexer({ reset: chain.reset });
    const changes: IndexerChange[] = [];
    fresh.subscribe((change) => {
      changes.push(change);
    });
    const grantId = await bed.grant(bed.newKey(), bed.newKey().address);
    const result = await fresh.syncOnce();
    expect(result.reset).toBeDefined();
    expect(changes[0]?.kind).toBe('reset');
    expect(await grantIds()).toEqual([grantId]);
    await expectEventsMatchChain();
    const { rows } = await bed.sql.query<{ genesis_hash: Uint8Array }>(
      'select genesis_hash from chain_cursor',
    );
    expect(rows.map((r) => bytesToHex(r.genesis_hash))).toEqual([chain.deployment.genesisHash]);

    // Without the flag, the genesis hash alone gives the reset away (the node restarted after the redeploy). anvil's
    // genesis hash depends on its start time in whole seconds: two wiped chains started within one second are the
    // same chain to every observer, so let a second pass.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await bed.restartChain({ wipe: true });
    const third = bed.indexer();
    const after = await bed.grant(bed.newKey(), bed.newKey().address);
    expect((await third.syncOnce()).reset).toMatch(/genesis hash/);
    expect(await grantIds()).toEqual([after]);
    expect(again.reset).toBe(true);
  });
  it('gives records the batch id of their BatchPublished, loses it when a reorg removes the batch, and after the replay of a reset chain sets the id the batch has there (F-5)', async () => {
    const indexer = bed.indexer();
    const hospital = bed.newKey();
    const kept = await bed.publish(hospital, 2);
    await storeRecords(hospital.address, kept);
    await indexer.syncOnce();
    expect(await batchIds(kept.recordIds)).toEqual([String(kept.batchId), String(kept.batchId)]);

    // A batch that a reorg takes away loses its id again; the one below the fork keeps it.
    const snapshot = await bed.snapshot();
    const dropped = await bed.publish(hospital, 1);
    await storeRecords(hospital.address, dropped);
    await indexer.syncOnce();
    expect(await batchIds(dropped.recordIds)).toEqual([String(dropped.batchId)]);
    await bed.revert(snapshot);
    await bed.mine(3);
    expect((await indexer.syncOnce()).rolledBackFrom).toBeDefined();
    expect(await batchIds(dropped.recordIds)).toEqual([null]);
    expect(await batchIds(kept.recordIds)).toEqual([String(kept.batchId), String(kept.batchId)]);

    // A reset chain: the replay clears every id; the same records published again there (after another batch,
    // so under another id) get the new one.
    // (anvil's genesis hash is per start second: let the previous test's wiped chain be a second old.)
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const chain = await bed.restartChain({ wipe: true });
    expect(chain.reset).toBe(true);
    const fresh = bed.indexer({ reset: chain.reset });
    const first = await bed.publish(bed.newKey(), 1);
    if (first.batchId + 1n === kept.batchId) await bed.publish(bed.newKey(), 1);
    expect((await fresh.syncOnce()).reset).toBeDefined();
    expect(await batchIds(kept.recordIds)).toEqual([null, null]);
    const again = await bed.publish(hospital, 2, kept.records);
    expect(again.root).toBe(kept.root);
    expect(again.batchId).not.toBe(kept.batchId);
    await fresh.syncOnce();
    expect(await batchIds(kept.recordIds)).toEqual([String(again.batchId), String(again.batchId)]);
    expect(await batchIds(first.recordIds)).toEqual([null]); // not stored by this node
    expect(await batchIds(dropped.recordIds)).toEqual([null]);
  });
});
