import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ScopeKind } from '@carekey/sdk/chain';
import { checkKeyRequest, toKeyRequestTypedData } from '@carekey/sdk/protocol';
import { bytesToHex, hashTypedData, hexToBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { createPgliteSql } from '../db/createPgliteSql.ts';
import type { ReleaseKeysProcessInput } from './testing/releaseKeysProcess.ts';
import { nth, randomTag, startVaultTestbed, TEST_AUDIENCE } from './testing/startVaultTestbed.ts';

const CHILD = fileURLToPath(new URL('./testing/releaseKeysProcess.ts', import.meta.url));
const ROUNDS = 4;
const REQUESTS_PER_ROUND = 24;

type Answer = {
  accessLogId?: string;
  records?: { recordId: string; stanza: string }[];
  refused?: boolean;
  ready?: boolean;
};

describe('releaseKeys under kill -9 (F-2)', () => {
  it('F-2 R-6 every stanza a client received has its committed access-log row, across SIGKILLs mid-stream', async () => {
    const sqlDir = mkdtempSync(join(tmpdir(), 'carekey-vault-f2-'));
    const t = await startVaultTestbed({ sqlDir });
    try {
      const patient = t.newIdentity();
      const grantee = t.newIdentity();
      const tag = randomTag();
      const records = await t.publish({ patient, tags: [tag, tag, randomTag()] });
      const grantId = await t.grant({
        patient,
        grantee,
        scopeKind: ScopeKind.Categories,
        scopeData: [tag],
        records: records.slice(0, 2),
      });
      await t.sql.close(); // one process per PGlite folder: the child takes it over
      const { contracts } = t.vault.chain;
      const input: ReleaseKeysProcessInput = {
        sqlDir,
        blobDir: join(t.dataDir, 'blobs'),
        rpcUrl: t.chain.rpcUrl,
        chainId: t.chain.chainId,
        contracts,
        audience: TEST_AUDIENCE,
      };
      const domain = { chainId: t.chain.chainId, verifyingContract: contracts.consentRegistry };
      const received: {
        digest: string;
        accessLogId: string;
        records: { recordId: string; stanza: string }[];
      }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Mostly covered requests, some refused (the third record is another category).
        const envelopes = [];
        for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
          const recordIds = i % 5 === 4 ? [nth(records, 2).recordId] : [nth(records, i % 2).recordId];
          envelopes.push(await t.keyRequest({ account: grantee.account, grantId, recordIds }));
        }
        const digests = [];
        for (const e of envelopes) {
          const { request } = await checkKeyRequest(e, { domain, audience: TEST_AUDIENCE });
          digests.push(hashTypedData(toKeyRequestTypedData(domain, request)));
        }
        // `node --import tsx`, not the tsx binary, so SIGKILL reaches the process that holds the database.
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(input)], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        const killAfter = 2 + ((round * 7) % (REQUESTS_PER_ROUND - 4));
        let answered = 0;
        for await (const line of createInterface({ input: child.stdout })) {
          const answer = JSON.parse(line) as Answer;
          if (answer.ready) {
            child.stdin.write(envelopes.map((e) => `${JSON.stringify(e)}\n`).join(''));
            continue;
          }
          if (answer.accessLogId !== undefined && answer.records !== undefined) {
            received.push({
              digest: nth(digests, answered),
              accessLogId: answer.accessLogId,
              records: answer.records,
            });
          }
          answered++;
          if (answered === killAfter) child.kill('SIGKILL');
          if (answered >= killAfter) break;
        }
        await exited;
        expect(child.signalCode).toBe('SIGKILL');
      }
      expect(received.length).toBeGreaterThan(ROUNDS);

      const sql = await createPgliteSql({ dataDir: sqlDir });
      try {
        for (const got of received) {
          const { rows } = await sql.query<{
            action: string;
            actor: Uint8Array;
            request_digest: Uint8Array;
            record_ids: Uint8Array[];
          }>('select action, actor, request_digest, record_ids from access_log where id = $1', [
            BigInt(got.accessLogId),
          ]);
          const row = nth(rows, 0);
          expect(row.action).toBe('release');
          expect(bytesToHex(row.actor)).toBe(grantee.address.toLowerCase());
          expect(bytesToHex(row.request_digest)).toBe(got.digest);
          expect(row.record_ids.map((r) => bytesToHex(r))).toEqual(got.records.map((r) => r.recordId));
          for (const r of got.records) {
            const { rows: stored } = await sql.query<{ stanza: string }>(
              'select stanza from stanzas where record_id = $1 and reader = $2',
              [hexToBytes(r.recordId as `0x${string}`), hexToBytes(grantee.address)],
            );
            expect(nth(stored, 0).stanza).toBe(r.stanza);
          }
        }
        // releases and refusals alike name a unique, non-null actor.
        const { rows: actors } = await sql.query<{ n: bigint }>(
          `select count(*) as n from access_log where action in ('release', 'refusal') and actor <> $1`,
          [hexToBytes(grantee.address)],
        );
        expect(nth(actors, 0).n).toBe(0n);
        const { rows: releases } = await sql.query<{ n: bigint }>(
          `select count(*) as n from access_log where action = 'release'`,
        );
        expect(nth(releases, 0).n).toBeGreaterThanOrEqual(BigInt(received.length));
      } finally {
        await sql.close();
      }
    } finally {
      await t.stop();
    }
  }, 600_000);
});
