/** Bad input gets a clear, uniform error that never echoes secrets. */
import { describe, expect, it } from 'vitest';
import {
  HeaderMacMismatchError,
  InvalidHeaderError,
  InvalidIdentityError,
  InvalidRecipientError,
  NoIdentityMatchError,
  UnsupportedRecipientError,
} from '../errors/crypto.ts';
import { assembleHeader } from './assembleHeader.ts';
import { decrypt } from './decrypt.ts';
import { encrypt } from './encrypt.ts';
import { MlKem768X25519Identity } from './mlkem768x25519.ts';
import { nodeCryptoBackend as backend } from './node/nodeBackend.ts';
import { parseIdentity, parseIdentityFile } from './parseIdentity.ts';
import { parseRecipient } from './parseRecipient.ts';
import { encryptPayload } from './payload.ts';
import { ScryptIdentity, ScryptRecipient } from './scrypt.ts';
import { wrapFileKey } from './wrapFileKey.ts';
import { X25519Identity, X25519Recipient } from './x25519.ts';

const alice = X25519Identity.generate();
const bob = X25519Identity.generate();

describe('malformed recipients and identities', () => {
  const good = alice.recipient.toString();
  for (const [label, text] of [
    ['empty', ''],
    ['not bech32', 'age1notbech32!!'],
    ['bad checksum', `${good.slice(0, -1)}${good.endsWith('q') ? 'p' : 'q'}`],
    ['wrong prefix', good.replace('age1', 'agf1')],
    ['uppercase', good.toUpperCase()],
    ['a secret key given as recipient', alice.toString()],
    ['truncated', good.slice(0, 40)],
    ['hybrid with bad length', 'age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'],
  ]) {
    it(`refuses a recipient that is ${label} with InvalidRecipientError`, () => {
      expect(() => parseRecipient(text as string)).toThrow(InvalidRecipientError);
      expect(() => parseRecipient(text as string)).toThrow(/invalid recipient \(expected an age public key/);
    });
  }

  it('refuses a raw public key of the wrong length', () => {
    expect(() => new X25519Recipient(new Uint8Array(31))).toThrow(InvalidRecipientError);
  });

  const secret = alice.toString();
  for (const [label, text] of [
    ['empty', ''],
    ['bad checksum', `${secret.slice(0, -1)}${secret.endsWith('Q') ? 'P' : 'Q'}`],
    ['a public key given as identity', alice.recipient.toString()],
    ['truncated', secret.slice(0, 50)],
    ['a PQ identity with a bad body', 'AGE-SECRET-KEY-PQ-1QQQQQQQQQQQQQQQQQQQQ'],
  ]) {
    it(`refuses an identity that is ${label} with InvalidIdentityError, never quoting it`, () => {
      let error: unknown;
      try {
        parseIdentity(text as string);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidIdentityError);
      const message = (error as Error).message;
      expect(message).toMatch(/^invalid identity/);
      if ((text as string).length > 20) expect(message).not.toContain((text as string).slice(16, 40));
      expect(JSON.stringify((error as InvalidIdentityError).details)).not.toContain(
        (text as string).slice(16, 40) || '\u0000',
      );
    });
  }

  it('parses identity files as age-keygen writes them, and names the bad line', () => {
    const pq = MlKem768X25519Identity.generate();
    const file = `# created: now\n# public key: ${alice.recipient}\n${alice}\n\n${pq}\n`;
    expect(parseIdentityFile(file).length).toBe(2);
    expect(() => parseIdentityFile('# only comments\n')).toThrow(InvalidIdentityError);
    try {
      parseIdentityFile(`${alice}\nAGE-SECRET-KEY-1BROKEN\n`);
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidIdentityError).details).toEqual({ line: 2 });
    }
  });

  it('refuses an empty passphrase and an out-of-range work factor', () => {
    expect(() => new ScryptRecipient('')).toThrow(InvalidRecipientError);
    expect(() => new ScryptRecipient('pw', { logN: 0 })).toThrow(/logN must be an integer from 1 to 30/);
    expect(() => new ScryptRecipient('pw', { logN: 31 })).toThrow(InvalidRecipientError);
  });
});

describe('wrong keys and misuse', () => {
  it('a wrong identity is "no identity matched"', async () => {
    const ciphertext = await encrypt({ recipients: [alice.recipient], plaintext: 'hi', backend });
    await expect(decrypt({ identities: [bob], ciphertext, backend })).rejects.toThrow(NoIdentityMatchError);
    await expect(decrypt({ identities: [bob], ciphertext, backend })).rejects.toThrow(/^no identity matched/);
  });

  it('a wrong passphrase is "no identity matched", never echoing the passphrase', async () => {
    const ciphertext = await encrypt({
      recipients: [new ScryptRecipient('right one', { logN: 10 })],
      plaintext: 'hi',
      backend,
    });
    const error = await decrypt({ identities: [new ScryptIdentity('hunter2')], ciphertext, backend }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(NoIdentityMatchError);
    expect(String(error.message)).not.toContain('hunter2');
    expect(
      new TextDecoder().decode(
        await decrypt({ identities: [new ScryptIdentity('right one')], ciphertext, backend }),
      ),
    ).toBe('hi');
  });

  it('a work factor above maxLogN is refused before any scrypt work, as an invalid header', async () => {
    const ciphertext = await encrypt({
      recipients: [new ScryptRecipient('pw', { logN: 12 })],
      plaintext: 'hi',
      backend,
    });
    await expect(
      decrypt({ identities: [new ScryptIdentity('pw', { maxLogN: 11 })], ciphertext, backend }),
    ).rejects.toThrow(InvalidHeaderError);
  });

  it('a passphrase recipient cannot be combined with others', async () => {
    await expect(
      encrypt({
        recipients: [new ScryptRecipient('pw', { logN: 10 }), alice.recipient],
        plaintext: 'x',
        backend,
      }),
    ).rejects.toThrow(UnsupportedRecipientError);
    await expect(encrypt({ recipients: [], plaintext: 'x', backend })).rejects.toThrow(InvalidRecipientError);
  });

  it('a header assembled with a different file key than the stanza fails the MAC', async () => {
    const { fileKey, payload } = encryptPayload({ plaintext: new Uint8Array(5), backend });
    const stanza = await wrapFileKey({ fileKey, recipient: alice.recipient });
    const header = assembleHeader({ fileKey: new Uint8Array(16).fill(9), stanzas: [stanza] });
    await expect(
      decrypt({ identities: [alice], ciphertext: Buffer.concat([header, payload]), backend }),
    ).rejects.toThrow(HeaderMacMismatchError);
  });

  it('garbage, empty input and a bare header are invalid headers', async () => {
    for (const ciphertext of [
      new Uint8Array(0),
      new TextEncoder().encode('age-encryption.org/v1\n'),
      new Uint8Array(100).fill(0x61),
    ]) {
      await expect(decrypt({ identities: [alice], ciphertext, backend, armor: false })).rejects.toThrow(
        InvalidHeaderError,
      );
    }
    await expect(decrypt({ identities: [alice], ciphertext: 'not armor', backend })).rejects.toThrow(
      /invalid armor/,
    );
  });
});
