/** Header and payload stored apart, then reassembled (the vault / blob-store split). */
import { describe, expect, it } from 'vitest';
import { UnsupportedRecipientError } from '../errors/crypto.ts';
import { assembleHeader } from './assembleHeader.ts';
import { decrypt } from './decrypt.ts';
import { parseHeader } from './header.ts';
import { MlKem768X25519Identity } from './mlkem768x25519.ts';
import { nodeCryptoBackend as backend } from './node/nodeBackend.ts';
import { decryptPayload, encryptPayload } from './payload.ts';
import { ScryptRecipient } from './scrypt.ts';
import { decodeStanza, encodeStanza } from './stanza.ts';
import { unwrapFileKey } from './unwrapFileKey.ts';
import { wrapFileKey } from './wrapFileKey.ts';
import { X25519Identity } from './x25519.ts';

describe('separable header and payload', () => {
  it('T-11 stores a payload and per-reader stanzas apart; each reader rebuilds a full file from its own stanza', async () => {
    const plaintext = new Uint8Array(200_000).map((_, i) => i * 7);
    const readers = [X25519Identity.generate(), X25519Identity.generate(), MlKem768X25519Identity.generate()];
    const { fileKey, payload } = encryptPayload({ plaintext, backend });
    const vault = await Promise.all(
      readers.map(async (r) => encodeStanza(await wrapFileKey({ fileKey, recipient: r.recipient }))),
    );
    fileKey.fill(0); // the writer forgets the key
    for (const [i, reader] of readers.entries()) {
      const stanza = decodeStanza(vault[i] as string);
      const key = await unwrapFileKey({ stanzas: [stanza], identities: [reader] });
      expect(decryptPayload({ fileKey: key, payload, backend })).toEqual(plaintext);
      const file = Buffer.concat([assembleHeader({ fileKey: key, stanzas: [stanza] }), payload]);
      expect(await decrypt({ identities: [reader], ciphertext: file, backend })).toEqual(plaintext);
      // another reader's stanza does not open with this reader's key
      const other = decodeStanza(vault[(i + 1) % readers.length] as string);
      await expect(unwrapFileKey({ stanzas: [other], identities: [reader] })).rejects.toThrow(
        'no identity matched',
      );
    }
  });

  it('sharing: a reader re-wraps the key to a new grantee without touching the payload', async () => {
    const patient = X25519Identity.generate();
    const grantee = X25519Identity.generate();
    const { fileKey, payload } = encryptPayload({ plaintext: new TextEncoder().encode('record'), backend });
    const patientStanza = await wrapFileKey({ fileKey, recipient: patient.recipient });
    const key = await unwrapFileKey({ stanzas: [patientStanza], identities: [patient] });
    const granteeStanza = await wrapFileKey({ fileKey: key, recipient: grantee.recipient });
    const file = Buffer.concat([assembleHeader({ fileKey: key, stanzas: [granteeStanza] }), payload]);
    expect(
      new TextDecoder().decode(await decrypt({ identities: [grantee], ciphertext: file, backend })),
    ).toBe('record');
  });

  it('the header round-trips: parse, then assemble the same stanzas again gives the same bytes', async () => {
    const { fileKey } = encryptPayload({ plaintext: new Uint8Array(0), backend });
    const stanzas = [
      await wrapFileKey({ fileKey, recipient: X25519Identity.generate().recipient }),
      { type: 'custom-type', args: ['a', 'b!'], body: new Uint8Array(48) }, // 64 base64 chars: an empty last line
      { type: 'empty', args: [], body: new Uint8Array(0) },
    ];
    const header = assembleHeader({ fileKey, stanzas });
    const parsed = parseHeader(header);
    expect(parsed.length).toBe(header.length);
    expect(parsed.stanzas).toEqual(stanzas.map((s) => ({ ...s, args: [...s.args] })));
    expect(assembleHeader({ fileKey, stanzas: parsed.stanzas })).toEqual(header);
  });

  it('refuses an scrypt stanza next to others', async () => {
    const { fileKey } = encryptPayload({ plaintext: new Uint8Array(0), backend });
    const scrypt = await wrapFileKey({ fileKey, recipient: new ScryptRecipient('pw', { logN: 4 }), backend });
    const x = await wrapFileKey({ fileKey, recipient: X25519Identity.generate().recipient });
    expect(() => assembleHeader({ fileKey, stanzas: [scrypt, x] })).toThrow(UnsupportedRecipientError);
    expect(() => assembleHeader({ fileKey, stanzas: [scrypt] })).not.toThrow();
  });
});
