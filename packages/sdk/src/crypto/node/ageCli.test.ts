/**
 * Interoperability with the real `age` CLI (/usr/bin/age, Debian package),
 * both directions. The passphrase prompts read from a terminal, so those runs
 * go through `script`, which gives age a pseudo-terminal.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleHeader } from '../assembleHeader.ts';
import { decrypt } from '../decrypt.ts';
import { encrypt } from '../encrypt.ts';
import { parseIdentityFile } from '../parseIdentity.ts';
import { parseRecipient } from '../parseRecipient.ts';
import { CHUNK_SIZE, decryptPayload, encryptPayload } from '../payload.ts';
import { ScryptIdentity, ScryptRecipient } from '../scrypt.ts';
import { decodeStanza, encodeStanza } from '../stanza.ts';
import { unwrapFileKey } from '../unwrapFileKey.ts';
import { wrapFileKey } from '../wrapFileKey.ts';
import { X25519Identity } from '../x25519.ts';
import { decryptFile, encryptFile, nodeCryptoBackend } from './index.ts';

const AGE = '/usr/bin/age';
const backend = nodeCryptoBackend;
let dir: string;
const keys: { file: string; recipient: string }[] = [];

function file(name: string): string {
  return path.join(dir, name);
}

function age(args: string[], input?: Uint8Array): Buffer {
  return execFileSync(AGE, args, { input, maxBuffer: 64 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs age under a pseudo-terminal (for its passphrase prompts), typing `typed`. */
function ageWithTty(args: string[], typed: string): void {
  const command = [AGE, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  execFileSync('script', ['-qec', command, '/dev/null'], { input: typed, stdio: ['pipe', 'pipe', 'pipe'] });
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SIZES = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 17];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'carekey-age-interop-'));
  for (const name of ['a', 'b']) {
    const keyFile = file(`${name}.key`);
    execFileSync('/usr/bin/age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    keys.push({
      file: keyFile,
      recipient: execFileSync('/usr/bin/age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim(),
    });
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const identitiesOf = (k: { file: string }) => parseIdentityFile(readFileSync(k.file, 'utf8'));
const key = (i: number) => keys[i] as { file: string; recipient: string };

describe('interop with the age CLI: X25519', () => {
  for (const size of SIZES) {
    it(`T-13 carekey encrypts ${size} bytes, age decrypts; age encrypts, carekey decrypts`, async () => {
      const plaintext = randomBytes(size);
      const ours = await encrypt({ recipients: [parseRecipient(key(0).recipient)], plaintext, backend });
      expect(sha(age(['-d', '-i', key(0).file], ours))).toBe(sha(plaintext));

      const theirs = age(['-r', key(0).recipient], plaintext);
      const back = await decrypt({ identities: identitiesOf(key(0)), ciphertext: theirs, backend });
      expect(sha(back)).toBe(sha(plaintext));
    });
  }

  it('multi-recipient files work both ways, each recipient alone decrypts', async () => {
    const plaintext = randomBytes(200_000);
    const extra = X25519Identity.generate();
    const ours = await encrypt({
      recipients: [parseRecipient(key(0).recipient), extra.recipient, parseRecipient(key(1).recipient)],
      plaintext,
      backend,
    });
    for (const k of keys) expect(sha(age(['-d', '-i', k.file], ours))).toBe(sha(plaintext));
    expect(sha(await decrypt({ identities: [extra], ciphertext: ours, backend }))).toBe(sha(plaintext));

    const theirs = age(
      ['-r', key(0).recipient, '-r', key(1).recipient, '-r', extra.recipient.toString()],
      plaintext,
    );
    for (const identities of [identitiesOf(key(0)), identitiesOf(key(1)), [extra]]) {
      expect(sha(await decrypt({ identities, ciphertext: theirs, backend }))).toBe(sha(plaintext));
    }
  });

  it('armored files work both ways', async () => {
    const plaintext = randomBytes(100_000);
    const ours = await encrypt({
      recipients: [parseRecipient(key(1).recipient)],
      plaintext,
      armor: true,
      backend,
    });
    expect(new TextDecoder().decode(ours.subarray(0, 34))).toBe('-----BEGIN AGE ENCRYPTED FILE-----');
    expect(sha(age(['-d', '-i', key(1).file], ours))).toBe(sha(plaintext));

    const theirs = age(['-a', '-r', key(1).recipient], plaintext);
    expect(sha(await decrypt({ identities: identitiesOf(key(1)), ciphertext: theirs, backend }))).toBe(
      sha(plaintext),
    );
  });

  it('encryptFile / decryptFile stream file to file, readable by age and from age', async () => {
    for (const size of [0, 65536, 5 * 1024 * 1024 + 3]) {
      const plaintext = randomBytes(size);
      writeFileSync(file('plain.bin'), plaintext);
      await encryptFile({
        input: file('plain.bin'),
        output: file('ours.age'),
        recipients: [parseRecipient(key(0).recipient)],
      });
      // (age creates no output file for an empty plaintext, so read its stdout)
      expect(sha(age(['-d', '-i', key(0).file, file('ours.age')]))).toBe(sha(plaintext));

      age(['-r', key(0).recipient, '-o', file('theirs.age'), file('plain.bin')]);
      await decryptFile({
        input: file('theirs.age'),
        output: file('ours.out'),
        identities: identitiesOf(key(0)),
      });
      expect(sha(readFileSync(file('ours.out')))).toBe(sha(plaintext));
    }
  }, 300_000);

  it('T-11 encryptPayload (sealed in one pass into one array) gives payloads age decrypts at every chunk boundary', async () => {
    for (const size of [
      0,
      1,
      CHUNK_SIZE - 1,
      CHUNK_SIZE,
      CHUNK_SIZE + 1,
      2 * CHUNK_SIZE,
      2 * CHUNK_SIZE + 7,
    ]) {
      const plaintext = randomBytes(size);
      const { fileKey, payload } = encryptPayload({ plaintext, backend });
      const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE));
      expect(payload.length).toBe(16 + size + 16 * chunks);
      const stanza = await wrapFileKey({ fileKey, recipient: parseRecipient(key(0).recipient) });
      const file = Buffer.concat([assembleHeader({ fileKey, stanzas: [stanza] }), payload]);
      expect(sha(age(['-d', '-i', key(0).file], file))).toBe(sha(plaintext));
    }
  });

  it('T-11 a file reassembled from a separately stored payload and one reader stanza decrypts with age', async () => {
    const plaintext = randomBytes(150_000);
    const { fileKey, payload } = encryptPayload({ plaintext, backend });
    // what the vault stores: one stanza per reader, as text
    const stored = [
      encodeStanza(await wrapFileKey({ fileKey, recipient: parseRecipient(key(0).recipient) })),
      encodeStanza(await wrapFileKey({ fileKey, recipient: parseRecipient(key(1).recipient) })),
    ];
    for (const [i, text] of stored.entries()) {
      // reassemble with only this reader's stanza; the reader first recovers the file key
      const stanza = decodeStanza(text);
      const readerKey = await unwrapFileKey({ stanzas: [stanza], identities: identitiesOf(key(i)) });
      const header = assembleHeader({ fileKey: readerKey, stanzas: [stanza] });
      const reassembled = Buffer.concat([header, payload]);
      expect(sha(age(['-d', '-i', key(i).file], reassembled))).toBe(sha(plaintext));
      expect(sha(decryptPayload({ fileKey: readerKey, payload, backend }))).toBe(sha(plaintext));
    }
  });
});

describe('interop with the age CLI: scrypt passphrase', () => {
  const passphrase = 'correct horse battery staple ✓';

  it('carekey encrypts with a passphrase, age decrypts it (through a pty)', async () => {
    const plaintext = randomBytes(70_000);
    const ours = await encrypt({
      recipients: [new ScryptRecipient(passphrase, { logN: 15 })],
      plaintext,
      backend,
    });
    writeFileSync(file('scrypt.age'), ours);
    ageWithTty(['-d', '-o', file('scrypt.out'), file('scrypt.age')], `${passphrase}\n`);
    expect(sha(readFileSync(file('scrypt.out')))).toBe(sha(plaintext));
  }, 300_000);

  it('age encrypts with a passphrase (work factor 18), carekey decrypts; a wrong passphrase is "no identity matched"', async () => {
    const plaintext = randomBytes(70_000);
    writeFileSync(file('p.bin'), plaintext);
    ageWithTty(['-p', '-o', file('p.age'), file('p.bin')], `${passphrase}\n${passphrase}\n`);
    const ciphertext = readFileSync(file('p.age'));
    expect(ciphertext.subarray(0, 200).toString('latin1')).toMatch(/-> scrypt \S+ 18\n/);
    expect(sha(await decrypt({ identities: [new ScryptIdentity(passphrase)], ciphertext, backend }))).toBe(
      sha(plaintext),
    );
    await expect(decrypt({ identities: [new ScryptIdentity('wrong')], ciphertext, backend })).rejects.toThrow(
      'no identity matched',
    );
  }, 300_000);
});
