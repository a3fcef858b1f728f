import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHUNK_SIZE,
  decrypt,
  encrypt,
  parseIdentity,
  parseRecipient,
  ScryptIdentity,
  X25519Identity,
} from '@carekey/sdk/crypto';
import '@carekey/sdk/crypto/node';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.ts';
import type { SdkCryptoPageApi } from './support/sdkCryptoPage/main.ts';
import { recordNodeBuiltins, type SdkCryptoPage, startSdkCryptoPage } from './support/sdkCryptoPage.ts';

// The SDK's age in Chromium, against the Node SDK and the age CLI (/usr/bin/age), both ways. Sizes: empty, one
// byte, exactly one chunk, and > 64 KiB (several chunks, the last partial).
const nodeEntry = fileURLToPath(import.meta.resolve('@carekey/sdk/crypto/node'));
const SIZES = [0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 12_345];

let server: SdkCryptoPage;
let browser: Browser;
let page: Page;
let dir: string;
const nodeIdentity = X25519Identity.generate();
let browserKeys: { identity: string; recipient: string };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const call = <K extends keyof SdkCryptoPageApi>(name: K, arg: Parameters<SdkCryptoPageApi[K]>[0]) =>
  page.evaluate(
    ([n, a]) =>
      (window as unknown as { sdkCrypto: Record<string, (x: unknown) => unknown> }).sdkCrypto[n]?.(a),
    [name, arg] as const,
  ) as Promise<Awaited<ReturnType<SdkCryptoPageApi[K]>>>;

function age(args: string[], input?: Uint8Array): Buffer {
  const result = spawnSync('age', args, { input, maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`age ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carekey-sdk-browser-'));
  writeFileSync(join(dir, 'node.key'), `${nodeIdentity.toString()}\n`);
  server = await startSdkCryptoPage();
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') violations.push(m.text());
  });
  await page.goto(server.url);
  await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
  expect(violations).toEqual([]);
  browserKeys = await call('generate', undefined as never);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('@carekey/sdk/crypto in Chromium', () => {
  it('bundles for the browser without any Node-only module', async () => {
    expect(server.moduleIds.some((id) => id.includes('packages/sdk/src/crypto/'))).toBe(true);
    expect(server.nodeBuiltins).toEqual([]);
    // The check sees a Node import when there is one: the Node half of the SDK.
    const found: string[] = [];
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [recordNodeBuiltins(found)],
      build: { write: false, lib: { entry: nodeEntry, formats: ['es'], fileName: 'x' } },
    });
    expect(found.some((f) => f.startsWith('node:'))).toBe(true);
  });

  for (const size of SIZES) {
    it(`${size} bytes encrypted in the browser decrypt with the Node SDK and with age (whole and streamed)`, async () => {
      const plaintext = randomBytes(size);
      server.files.set(`plain-${size}`, plaintext);
      for (const streamed of [false, true]) {
        const name = `browser-${size}-${streamed}.age`;
        await call('encrypt', {
          from: `/files/plain-${size}`,
          to: `/files/${name}`,
          recipient: nodeIdentity.recipient.toString(),
          streamed,
        });
        const file = server.uploads.get(name);
        expect(file, name).toBeDefined();
        expect(sha256(await decrypt({ identities: [nodeIdentity], ciphertext: file as Buffer }))).toBe(
          sha256(plaintext),
        );
        expect(sha256(age(['-d', '-i', join(dir, 'node.key')], file))).toBe(sha256(plaintext));
      }
    });

    it(`${size} bytes encrypted by the Node SDK and by age decrypt in the browser (streamed)`, async () => {
      const plaintext = randomBytes(size);
      server.files.set(
        `sdk-${size}.age`,
        await encrypt({ recipients: [parseRecipient(browserKeys.recipient)], plaintext }),
      );
      server.files.set(`cli-${size}.age`, age(['-e', '-r', browserKeys.recipient], plaintext));
      for (const name of [`sdk-${size}.age`, `cli-${size}.age`]) {
        const result = await call('decrypt', { from: `/files/${name}`, identity: browserKeys.identity });
        expect(result, name).toEqual({ ok: true, length: size, sha256: sha256(plaintext) });
      }
    });
  }

  it('a passphrase (scrypt) file made in the browser decrypts with the Node SDK', async () => {
    const plaintext = randomBytes(1000);
    server.files.set('plain-scrypt', plaintext);
    await call('encryptWithPassphrase', {
      from: '/files/plain-scrypt',
      to: '/files/scrypt.age',
      passphrase: 'correct horse',
      logN: 12,
    });
    const file = server.uploads.get('scrypt.age') as Buffer;
    expect(
      sha256(await decrypt({ identities: [new ScryptIdentity('correct horse')], ciphertext: file })),
    ).toBe(sha256(plaintext));
    await expect(
      decrypt({ identities: [new ScryptIdentity('wrong horse')], ciphertext: file }),
    ).rejects.toThrow();
  });

  it('T-13: a tampered file is refused in the browser (payload, header, truncation, wrong key)', async () => {
    const plaintext = randomBytes(3 * CHUNK_SIZE + 100);
    const good = age(['-e', '-r', browserKeys.recipient], plaintext);
    const headerEnd = good.indexOf('\n---') + 1;
    const payloadFlip = Buffer.from(good);
    payloadFlip[payloadFlip.length - 50] = (payloadFlip[payloadFlip.length - 50] ?? 0) ^ 1; // last chunk
    const middleFlip = Buffer.from(good);
    middleFlip[headerEnd + 100 + CHUNK_SIZE] = (middleFlip[headerEnd + 100 + CHUNK_SIZE] ?? 0) ^ 0x80; // 2nd chunk
    const headerFlip = Buffer.from(good);
    headerFlip[headerEnd - 10] = (headerFlip[headerEnd - 10] ?? 0) ^ 1; // inside the stanza body
    const truncated = good.subarray(0, good.length - CHUNK_SIZE - 16); // whole last chunk gone
    const cases: Record<string, Uint8Array> = { payloadFlip, middleFlip, headerFlip, truncated };
    for (const [name, file] of Object.entries(cases)) {
      server.files.set(`tampered-${name}.age`, file);
      const result = await call('decrypt', {
        from: `/files/tampered-${name}.age`,
        identity: browserKeys.identity,
      });
      expect(result, name).toMatchObject({ ok: false });
      expect((result as { name: string }).name, name).toMatch(/Error$/u);
      // The Node SDK and age refuse the same bytes.
      await expect(
        decrypt({ identities: [parseIdentity(browserKeys.identity)], ciphertext: file }),
        name,
      ).rejects.toThrow();
    }
    server.files.set('other-key.age', await encrypt({ recipients: [nodeIdentity.recipient], plaintext }));
    const wrongKey = await call('decrypt', { from: '/files/other-key.age', identity: browserKeys.identity });
    expect(wrongKey).toMatchObject({ ok: false, name: 'NoIdentityMatchError' });
    // The untampered file still decrypts: the refusals above are about the tampering.
    expect(await call('decrypt', { from: '/files/cli-0.age', identity: browserKeys.identity })).toMatchObject(
      { ok: true },
    );
  });
});
