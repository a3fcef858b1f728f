import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decrypt, encodeStanza, encryptPayload, wrapFileKey, X25519Identity } from '@carekey/sdk/crypto';
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

describe('RecordStore packs (one file per batch of local copies)', () => {
  const me = X25519Identity.generate();
  const idOf = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
  const batch = async (from: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const fileKey = randomBytes(16);
        const plaintext = `{"resourceType":"Observation","id":"o${from + i}"}`;
        const { payload } = encryptPayload({ plaintext: new TextEncoder().encode(plaintext), fileKey });
        return {
          recordId: idOf(from + i),
          fileKey,
          stanza: await wrapFileKey({ fileKey, recipient: me.recipient }),
          payload,
          plaintext,
        };
      }),
    );
  const fresh = () => {
    const home = mkdtempSync(join(dir, 'home-'));
    return new RecordStore(carekeyHome({ CAREKEY_HOME: home }), me.recipient.toString());
  };
  const packsOf = (store: RecordStore) => readdirSync(join(store.dir, 'packs'));
  const text = async (store: RecordStore, recordId: Hex) =>
    new TextDecoder().decode(await decrypt({ identities: [me], ciphertext: await store.readFile(recordId) }));

  it('F-1: a batch is one pack file (no loose file, no temp left), read back by this store and a new one; a loose copy of before the packs is read beside it', async () => {
    const store = fresh();
    const records = await batch(1, 300);
    await store.putFiles(records);
    expect(packsOf(store)).toHaveLength(1);
    expect(readdirSync(store.dir).sort()).toEqual(['packs']);
    const [old] = await batch(1000, 1);
    await store.putFile(old as (typeof records)[number]);
    for (const s of [store, new RecordStore(carekeyHome({ CAREKEY_HOME: join(store.dir, '..') }), '')]) {
      expect((await s.files()).sort()).toEqual([...records.map((r) => r.recordId), idOf(1000)].sort());
      for (const r of [...records.slice(0, 5), old]) {
        expect(await s.hasFile(r?.recordId as Hex)).toBe(true);
        expect(await text(s, r?.recordId as Hex)).toBe(r?.plaintext);
        expect(await s.fileKey(r?.recordId as Hex, me)).toEqual(r?.fileKey);
      }
      expect(await s.hasFile(idOf(5000))).toBe(false);
      await expect(s.readFile(idOf(5000))).rejects.toThrow('has no local copy');
    }
    // The age CLI's format: a packed copy written out is a complete age file.
    const target = join(store.dir, '..', 'out.age');
    await store.copyTo(idOf(7), target);
    expect(
      new TextDecoder().decode(await decrypt({ identities: [me], ciphertext: readFileSync(target) })),
    ).toBe(records[6]?.plaintext);
  });

  it('a pack another store of the folder wrote after this one read the headers (an import in another process, then the gateway syncs) is found: hasFile, readFile, files', async () => {
    const reader = fresh();
    const first = await batch(2000, 3);
    await reader.putFiles(first);
    // The reader has read the headers (one pack) and misses a record nobody wrote yet.
    expect(await reader.hasFile(idOf(2100))).toBe(false);
    expect(await reader.files()).toHaveLength(3);
    const writer = new RecordStore(
      carekeyHome({ CAREKEY_HOME: join(reader.dir, '..') }),
      me.recipient.toString(),
    );
    const later = await batch(2100, 2);
    await writer.putFiles(later);
    expect(packsOf(reader)).toHaveLength(2);
    expect(await reader.hasFile(idOf(2100))).toBe(true);
    expect(await text(reader, idOf(2101))).toBe(later[1]?.plaintext);
    expect((await reader.files()).sort()).toEqual([...first, ...later].map((r) => r.recordId).sort());
    expect(await reader.hasFile(idOf(2200))).toBe(false);
  });

  it('F-1: the temp file of a crashed writer (a process that is gone) is removed when the packs are next read; a live writer’s is left alone', async () => {
    const store = fresh();
    await store.putFiles(await batch(1, 3));
    const packs = join(store.dir, 'packs');
    const dead = spawnSync(process.execPath, ['-e', 'process.pid'], { encoding: 'utf8' }).pid;
    writeFileSync(join(packs, `.${dead}-00ff.tmp`), 'half a pack');
    writeFileSync(join(packs, `.${process.pid}-00ee.tmp`), 'being written');
    const reader = new RecordStore(carekeyHome({ CAREKEY_HOME: join(store.dir, '..') }), '');
    expect(await reader.hasFile(idOf(2))).toBe(true);
    expect(readdirSync(packs).filter((n) => n.endsWith('.tmp'))).toEqual([`.${process.pid}-00ee.tmp`]);
  });

  it('R-7 F-1: a flipped bit in a packed copy, a pack cut short and a damaged header each give a clear error naming the pack', async () => {
    const store = fresh();
    const records = await batch(1, 4);
    await store.putFiles(records);
    const pack = join(store.dir, 'packs', packsOf(store)[0] ?? '');
    const good = readFileSync(pack);
    const last = records[3]?.recordId as Hex;
    const reopen = () => new RecordStore(carekeyHome({ CAREKEY_HOME: join(store.dir, '..') }), '');

    const flipped = Buffer.from(good);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0x01;
    writeFileSync(pack, flipped);
    await expect(reopen().readFile(last)).rejects.toThrow(
      `the local copy of record ${last} is damaged (${pack}: its bytes do not match their digest)`,
    );
    expect(await text(reopen(), records[0]?.recordId as Hex)).toBe(records[0]?.plaintext);

    writeFileSync(pack, good.subarray(0, good.length - 10));
    await expect(reopen().fileKey(last, me)).rejects.toThrow(`(${pack}: the pack is cut short)`);

    const header = Buffer.from(good);
    header[20] = (header[20] ?? 0) ^ 0x80;
    writeFileSync(pack, header);
    await expect(reopen().hasFile(last)).rejects.toThrow(`${pack} is damaged`);
    await expect(reopen().readFile(last)).rejects.toThrow(`${pack} is damaged`);
    await expect(reopen().forgetFiles([last])).rejects.toThrow(`${pack} is damaged`);
    writeFileSync(pack, good);
    expect(await text(reopen(), last)).toBe(records[3]?.plaintext);
  });

  it('R-11 T-28: forgetting records rewrites their pack without them — their own stanza is in no file of the wallet folder, the others read on (also by a store that read the old pack), an emptied pack is removed', async () => {
    const store = fresh();
    const records = await batch(1, 50);
    await store.putFiles(records);
    const [pack] = packsOf(store);
    const other = new RecordStore(carekeyHome({ CAREKEY_HOME: join(store.dir, '..') }), '');
    expect(await text(other, idOf(40))).toBe(records[39]?.plaintext); // other has read the old headers
    const gone = records.filter((_, i) => i % 7 === 0);
    await store.forgetFiles(gone.map((r) => r.recordId));
    expect(packsOf(store)).toEqual([pack]); // rewritten over itself (one rename)
    const everything = readdirSync(store.dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(join(e.parentPath, e.name)));
    for (const r of gone) {
      // The stanza as the age header holds it (its wrapped file key in base64).
      expect(everything.some((f) => f.includes(encodeStanza(r.stanza)))).toBe(false);
      await expect(store.readFile(r.recordId)).rejects.toThrow('has no local copy');
      await expect(other.fileKey(r.recordId, me)).rejects.toThrow('has no local copy');
    }
    for (const r of records.filter((_, i) => i % 7 !== 0)) {
      expect(everything.some((f) => f.includes(encodeStanza(r.stanza)))).toBe(true);
      expect(await text(other, r.recordId)).toBe(r.plaintext);
    }
    expect((await store.files()).length).toBe(records.length - gone.length);
    await store.forgetFiles(records.map((r) => r.recordId));
    expect(packsOf(store)).toEqual([]);
    expect(await other.hasFile(idOf(2))).toBe(false);
  });

  it('rewriteFiles (a key rotation) gives every packed and loose copy its new content, each pack rewritten once', async () => {
    const store = fresh();
    const records = await batch(1, 5);
    await store.putFiles(records.slice(0, 4));
    await store.putFile(records[4] as (typeof records)[number]);
    const seen: Hex[] = [];
    const count = await store.rewriteFiles(async (recordId, file) => {
      seen.push(recordId);
      return new Uint8Array([...file, 0x0a]);
    });
    expect(count).toBe(5);
    expect(seen.sort()).toEqual(records.map((r) => r.recordId).sort());
    expect(packsOf(store)).toHaveLength(1);
    for (const r of records) expect((await store.readFile(r.recordId)).at(-1)).toBe(0x0a);
  });
});
