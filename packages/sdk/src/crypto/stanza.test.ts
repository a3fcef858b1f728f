import { describe, expect, it } from 'vitest';
import { InvalidHeaderError } from '../errors/crypto.ts';
import { decodeStanza, encodeStanza } from './stanza.ts';

describe('stanza (de)serialisation', () => {
  it('wraps bodies at 64 columns with a final short (possibly empty) line', () => {
    for (const length of [0, 1, 32, 47, 48, 49, 96, 100]) {
      const stanza = { type: 'X25519', args: ['abc'], body: new Uint8Array(length).fill(3) };
      const text = encodeStanza(stanza);
      const lines = text.split('\n').slice(1, -1);
      expect(lines.every((l, i) => (i < lines.length - 1 ? l.length === 64 : l.length < 64))).toBe(true);
      expect(decodeStanza(text)).toEqual(stanza);
      expect(decodeStanza(new TextEncoder().encode(text))).toEqual(stanza);
    }
  });

  it('refuses malformed stored stanzas with a uniform invalid header', () => {
    for (const bad of [
      '',
      '-> X25519 abc\n', // no body line
      '->X25519 abc\n\n',
      '-> X25519  abc\n\n', // empty argument
      '-> X25519 abc\nAAA=\n', // padding
      '-> X25519 abc\nAB\n', // non-canonical trailing bits
      '-> X25519 abc\n\nextra',
      '-> X25519 ab\u00e9\n\n',
      '-> X25519 abc\r\n\n',
    ]) {
      expect(() => decodeStanza(bad), JSON.stringify(bad)).toThrow(InvalidHeaderError);
    }
    expect(() => encodeStanza({ type: 'a b', args: [], body: new Uint8Array() })).toThrow('invalid header');
    expect(() => encodeStanza({ type: 'ok', args: [''], body: new Uint8Array() })).toThrow('invalid header');
  });
});
