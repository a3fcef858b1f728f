import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArmorError } from '../errors/crypto.ts';
import { ArmorDecoder, ArmorEncoder, armor, dearmor } from './armor.ts';

describe('ASCII armor', () => {
  it('round-trips any bytes, written and read in arbitrary pieces, lines of 64 columns', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 }), (data, piece) => {
        const encoder = new ArmorEncoder();
        const parts: Uint8Array[] = [];
        for (let i = 0; i < data.length; i += piece)
          encoder.write(data.subarray(i, i + piece), (p) => parts.push(p));
        encoder.end((p) => parts.push(p));
        const text = Buffer.concat(parts);
        expect(text.toString()).toBe(armor(data));
        const lines = text.toString().split('\n');
        expect(lines[0]).toBe('-----BEGIN AGE ENCRYPTED FILE-----');
        expect(lines.at(-2)).toBe('-----END AGE ENCRYPTED FILE-----');
        for (const line of lines.slice(1, -3)) expect(line.length).toBe(64);
        const decoder = new ArmorDecoder();
        const out: Uint8Array[] = [];
        for (let i = 0; i < text.length; i += piece)
          decoder.write(text.subarray(i, i + piece), (p) => out.push(p));
        decoder.end((p) => out.push(p));
        expect(Buffer.concat(out)).toEqual(Buffer.from(data));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts CRLF and whitespace around the armor, refuses anything else', () => {
    const data = new Uint8Array(100).map((_, i) => i);
    const text = armor(data);
    expect(dearmor(text.replaceAll('\n', '\r\n'))).toEqual(data);
    expect(dearmor(` \n\t${text}\n \r\n`)).toEqual(data);
    expect(dearmor(text.trimEnd())).toEqual(data);
    for (const bad of [
      text.replace('BEGIN', 'begin'),
      text.replace('\n', '\nComment: x\n'),
      text.replace(/\n(.)/, '\n $1'),
      `x${text}`,
      `${text}x`,
      text.replace('-----END AGE ENCRYPTED FILE-----\n', ''),
      text.replace(/=*\n-----END/, '\n-----END'),
    ]) {
      expect(() => dearmor(bad), JSON.stringify(bad.slice(0, 80))).toThrow(InvalidArmorError);
    }
  });
});
