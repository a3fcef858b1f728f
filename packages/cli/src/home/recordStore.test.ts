import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wrapFileKey, X25519Identity } from '@carekey/sdk/crypto';
import { randomBytes } from '@noble/hashes/utils.js';
import type { Hex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { carekeyHome } from './carekeyHome.ts';
import { RecordStore } from './recordStore.ts';

const dir = mkdtempSync(join(tmpdir(), 'carekey-recordstore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RecordStore local age files', () => {
  it('reads the file key and own stanza from the header alone (an 8 MiB payload that is not ciphertext is never read)', async () => {
    const me = X25519Identity.generate();
    const store = new RecordStore(carekeyHome({ CAREKEY_HOME: dir }), me.recipient.toString());
    const recordId = `0x${'ab'.repeat(32)}` as Hex;
    const fileKey = randomBytes(16);
    const stanza = await wrapFileKey({ fileKey, recipient: me.recipient });
    // A payload of 8 MiB that is not even valid ciphertext: only the header may be read.
    await store.putFile({ recordId, fileKey, stanza, payload: new Uint8Array(8 << 20).fill(0x41) });
    expect(statSync(store.fileOf(recordId)).size).toBeGreaterThan(8 << 20);
    expect(await store.hasFile(recordId)).toBe(true);
    expect(await store.fileKey(recordId, me)).toEqual(fileKey);
    expect(await store.stanzaText(recordId)).toMatch(/^-> X25519 /u);
    expect(await store.hasFile(`0x${'cd'.repeat(32)}` as Hex)).toBe(false);
    await expect(store.fileKey(`0x${'cd'.repeat(32)}` as Hex, me)).rejects.toThrow('has no local copy');
  });

  it('refuses a damaged local file with the crypto error, not a crash', async () => {
    const me = X25519Identity.generate();
    const store = new RecordStore(carekeyHome({ CAREKEY_HOME: dir }), me.recipient.toString());
    const recordId = `0x${'ef'.repeat(32)}` as Hex;
    writeFileSync(store.fileOf(recordId), 'age-encryption.org/v1\n-> X25519 nope\n');
    await expect(store.fileKey(recordId, me)).rejects.toThrow(/invalid header/u);
  });
});
