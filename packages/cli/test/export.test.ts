import '@carekey/sdk/crypto/node';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptPayload, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import { newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import type { Hex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { carekeyHome } from '../src/home/carekeyHome.ts';
import { type LocalRecord, RecordStore } from '../src/home/recordStore.ts';
import { carekey, jsonOf } from './support/carekeyBin.ts';

const root = mkdtempSync(join(tmpdir(), 'carekey-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PASS = 'a long passphrase';
const env = (home: string) => ({
  CAREKEY_HOME: home,
  CAREKEY_PASSPHRASE: PASS,
  CAREKEY_NODE: 'http://127.0.0.1:9',
});

const resources = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Canary-7f3a' }] },
  { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'glucose' } },
  // larger than one 64 KiB STREAM chunk
  { resourceType: 'DocumentReference', id: 'd1', description: 'x'.repeat(150_000) },
];

describe('carekey export (R-15: the owner reads without Carekey or a node)', () => {
  it('writes every record as a standalone age file that the age CLI opens with identity.txt', async () => {
    const home = join(root, 'home');
    const init = await carekey(['init', '--json', '--scrypt-log-n', '15'], env(home));
    const created = jsonOf<{ address: Hex; ageRecipient: string; mnemonic: string }>(init);
    expect(created).toMatchObject({ didKey: { published: false } });

    // the wallet folder's own copies, written as `import` writes them
    const keys = walletKeys(newWalletSecrets({ mnemonic: created.mnemonic }));
    const store = new RecordStore(carekeyHome({ CAREKEY_HOME: home }), created.ageRecipient);
    const records: LocalRecord[] = [];
    for (const resource of resources) {
      const plaintext = new TextEncoder().encode(JSON.stringify(resource));
      const { fileKey, payload } = encryptPayload({ plaintext });
      const stanza = await wrapFileKey({ fileKey, recipient: new X25519Recipient(created.ageRecipient) });
      const recordId = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}` as Hex;
      await store.putFile({ recordId, fileKey, stanza, payload });
      records.push({
        recordId,
        blobId: 'bafkreitest',
        patient: created.address,
        publisher: created.address,
        resourceType: resource.resourceType,
        fhirId: resource.id,
        category: resource.resourceType,
        categoryTag: `0x${'00'.repeat(32)}`,
        sha256: '',
        addedAt: new Date().toISOString(),
        state: 'active',
      });
    }
    await store.save(records);
    // nothing about the records is readable in the wallet folder without the key
    for (const name of readdirSync(join(home, 'records'))) {
      expect(readFileSync(join(home, 'records', name)).toString('latin1')).not.toMatch(
        /Canary|Observation|glucose/u,
      );
    }
    expect(await store.list(keys.identity)).toHaveLength(3);

    const out = join(root, 'out');
    const exported = jsonOf<{ records: number; identityFile: string }>(
      await carekey(['export', out, '--json'], env(home)),
    );
    expect(exported.records).toBe(3);
    expect((statSync(exported.identityFile).mode & 0o777).toString(8)).toBe('600');
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      records: { file: string; resourceType: string }[];
    };
    expect(index.records.map((r) => r.resourceType)).toEqual(['Patient', 'Observation', 'DocumentReference']);
    for (const [i, entry] of index.records.entries()) {
      const age = spawnSync('/usr/bin/age', ['-d', '-i', join(out, 'identity.txt'), join(out, entry.file)], {
        encoding: 'utf8',
      });
      expect(age.stderr).toBe('');
      expect(age.status).toBe(0);
      expect(JSON.parse(age.stdout)).toEqual(resources[i]);
    }

    // a non-empty folder is refused and left as it was
    mkdirSync(join(root, 'busy'));
    writeFileSync(join(root, 'busy', 'keep.txt'), 'mine');
    const busy = await carekey(['export', join(root, 'busy')], env(home));
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^carekey: .*busy is not empty \(export into a new or empty folder\)\n$/u);
    expect(readdirSync(join(root, 'busy'))).toEqual(['keep.txt']);

    // a wrong passphrase: one line, nothing written
    const wrong = await carekey(['export', join(root, 'out2')], {
      ...env(home),
      CAREKEY_PASSPHRASE: 'not it at all',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.split('\n')).toHaveLength(2);
    expect(() => readdirSync(join(root, 'out2'))).toThrow();
  }, 300_000);
});
