import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bytesToHex, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { createPgliteSql } from '../db/createPgliteSql.ts';
import { proofNodes } from './recordProof.ts';
import type { PublishedBatchLine, PublishRecordsProcessInput } from './testing/publishRecordsProcess.ts';
import { nth, randomTag, startVaultTestbed } from './testing/startVaultTestbed.ts';

const CHILD = fileURLToPath(new URL('./testing/publishRecordsProcess.ts', import.meta.url));
const BATCHES = 4;
const RECORDS_PER_BATCH = 64;
const ROUNDS = 3;

describe('publishRecords under kill -9 (F-1)', () => {
  it('F-1 a batch killed mid-publish leaves all of it or nothing: records, proofs, stanzas, outbox and publish rows', async () => {
    const sqlDir = mkdtempSync(join(tmpdir(), 'carekey-vault-publish-f1-'));
    const t = await startVaultTestbed({ sqlDir });
    try {
      const patient = t.newIdentity();
      const batches: PublishedBatchLine[] = [];
      for (let b = 0; b < BATCHES; b++) {
        const { parameters } = await t.preparePublish({
          patient,
          tags: Array.from({ length: RECORDS_PER_BATCH }, () => randomTag()),
        });
        const { vault: _, ...rest } = parameters;
        batches.push({
          ...rest,
          publish: {
            ...rest.publish,
            nonce: String(rest.publish.nonce),
            deadline: String(rest.publish.deadline),
          },
        });
      }
      await t.sql.close(); // one process per PGlite folder: the child takes it over
      const input: PublishRecordsProcessInput = {
        sqlDir,
        blobDir: join(t.dataDir, 'blobs'),
        rpcUrl: t.chain.rpcUrl,
        chainId: t.chain.chainId,
        contracts: t.vault.chain.contracts,
      };
      const acknowledged = new Set<string>();
      let killedMidBatch = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // `node --import tsx`, not the tsx binary, so SIGKILL reaches the process that holds the database.
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(input)], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        // Every batch not acknowledged yet (one already stored is refused as existing, changing nothing).
        const pending = batches.filter((b) => !acknowledged.has(b.publish.root));
        let answered = 0;
        for await (const line of createInterface({ input: child.stdout })) {
          const answer = JSON.parse(line) as { ready?: boolean; root?: Hex };
          if (answer.ready) {
            child.stdin.write(pending.map((b) => `${JSON.stringify(b)}\n`).join(''));
            continue;
          }
          if (answer.root !== undefined) acknowledged.add(answer.root);
          // Killed inside the next batch's publish — its checks, its transaction or its commit: a different point
          // each round.
          if (++answered === 1) setTimeout(() => child.kill('SIGKILL'), [0, 30, 80][round]);
        }
        await exited;
        expect(child.signalCode).toBe('SIGKILL');
        if (answered < pending.length) killedMidBatch++;
      }
      expect(killedMidBatch).toBeGreaterThan(0);

      const sql = await createPgliteSql({ dataDir: sqlDir });
      try {
        const { rows: stored } = await sql.query<{
          root: Uint8Array;
          count: number;
          publish_digest: Uint8Array;
        }>('select root, count, publish_digest from record_batches');
        const storedRoots = new Set<string>(stored.map((b) => bytesToHex(b.root)));
        // Every acknowledged batch is there…
        for (const root of acknowledged) expect(storedRoots.has(root)).toBe(true);
        // …and every batch there is whole.
        for (const batch of stored) {
          const { rows: records } = await sql.query<{
            record_id: Uint8Array;
            leaf_index: bigint;
            proof_nodes: Uint8Array;
            stanzas: bigint;
          }>(
            `select r.record_id, r.leaf_index, r.proof_nodes,
                    (select count(*) from stanzas s where s.record_id = r.record_id) as stanzas
             from records r where r.batch_root = $1 order by r.leaf_index`,
            [batch.root],
          );
          const sent = batches.find((b) => b.publish.root === bytesToHex(batch.root));
          expect(records.map((r) => bytesToHex(r.record_id))).toEqual(sent?.records.map((r) => r.recordId));
          expect(records.map((r) => Number(r.leaf_index))).toEqual(records.map((_, i) => i));
          for (const r of records) {
            // Every leaf of a tree of 64 is 6 levels deep.
            expect(proofNodes(r.proof_nodes)).toHaveLength(6);
            expect(r.stanzas).toBe(1n);
          }
          const { rows: outbox } = await sql.query('select 1 from outbox where idempotency_key = $1', [
            bytesToHex(batch.publish_digest),
          ]);
          expect(outbox).toHaveLength(1);
          const { rows: log } = await sql.query<{ record_ids: Uint8Array[] }>(
            `select record_ids from access_log where action = 'publish' and request_digest = $1`,
            [batch.publish_digest],
          );
          expect(nth(log, 0).record_ids).toHaveLength(RECORDS_PER_BATCH);
        }
        // Nothing outside a stored batch.
        const { rows: orphans } = await sql.query<{ n: bigint }>(
          'select count(*) as n from records r where not exists (select 1 from record_batches b where b.root = r.batch_root)',
        );
        expect(nth(orphans, 0).n).toBe(0n);
        const { rows: total } = await sql.query<{ n: bigint }>('select count(*) as n from records');
        expect(nth(total, 0).n).toBe(BigInt(stored.length * RECORDS_PER_BATCH));
      } finally {
        await sql.close();
      }
    } finally {
      await t.stop();
    }
  }, 120_000);
});
