import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FhirParseError } from '../errors/fhir.ts';
import { parseFhirJson } from './parseFhirJson.ts';

function parseError(input: Uint8Array | string, options = {}): FhirParseError {
  try {
    parseFhirJson(input, options);
  } catch (error) {
    expect(error).toBeInstanceOf(FhirParseError);
    return error as FhirParseError;
  }
  throw new Error(`parsed without error: ${String(input).slice(0, 60)}`);
}

describe('parseFhirJson', () => {
  it('parses bytes and text to the same object as JSON.parse', () => {
    const text =
      '{"resourceType":"Patient","name":[{"given":["Zoë","李"]}],"active":true,"x":null,"n":-1.5e3}';
    expect(parseFhirJson(text)).toEqual(JSON.parse(text));
    expect(parseFhirJson(new TextEncoder().encode(text))).toEqual(JSON.parse(text));
    expect(parseFhirJson(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')]))).toEqual(
      { a: 1 },
    );
  });

  it('T-19 agrees with JSON.parse on any JSON object without duplicate or forbidden keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 5 })), (object) => {
        const safe = JSON.parse(
          JSON.stringify(object, (k, v) =>
            ['__proto__', 'constructor', 'prototype'].includes(k) ? undefined : v,
          ),
        );
        const text = JSON.stringify(safe, null, 1);
        expect(parseFhirJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('T-19 F-14 throws only FhirParseError on arbitrary bytes and mangled JSON, never anything else', () => {
    const outcome = (input: Uint8Array | string) => {
      try {
        const value = parseFhirJson(input, { maxDepth: 8 });
        expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(FhirParseError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), outcome), { numRuns: 1000 });
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 10 }),
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 3 }),
        (value, at, cut, insert) => {
          const text = JSON.stringify({ v: value });
          const i = at % (text.length + 1);
          outcome(text.slice(0, i) + insert + text.slice(Math.min(text.length, i + (cut % 3))));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['{"a":{"__proto__":{"polluted":1}}}', '$.a.__proto__'],
    ['{"a":[0,{"constructor":{}}]}', '$.a[1].constructor'],
    ['{"prototype":1}', '$.prototype'],
    ['{"\\u005f_proto__":1}', '$.__proto__'],
  ])('T-19 refuses a forbidden key in %s at %s', (text, path) => {
    const error = parseError(text);
    expect(error.reason).toBe('forbidden-key');
    expect(error.path).toBe(path);
    expect(error.outcome.issue?.[0]?.code).toBe('security');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('T-19 refuses duplicate keys, which JSON.parse would silently merge', () => {
    const error = parseError('{"resourceType":"Patient","gender":"male",\n"gender":"female"}');
    expect(error.reason).toBe('duplicate-key');
    expect(error.path).toBe('$.gender');
    expect(error.offset).toBe(43);
    expect(error.message).toContain('duplicate key "gender"');
    // Same key in sibling objects is fine.
    expect(parseFhirJson('{"a":{"x":1},"b":{"x":2}}')).toEqual({ a: { x: 1 }, b: { x: 2 } });
  });

  it('T-19 refuses nesting 10⁴ deep quickly, at the configured depth', () => {
    const deep = `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const start = performance.now();
    const error = parseError(deep);
    expect(performance.now() - start).toBeLessThan(500);
    expect(error.reason).toBe('too-deep');
    expect(error.message).toContain('deeper than 64');
    expect(parseError('{"a":{"b":{"c":{}}}}', { maxDepth: 3 }).path).toBe('$.a.b.c');
    expect(parseFhirJson('{"a":{"b":{}}}', { maxDepth: 3 })).toEqual({ a: { b: {} } });
  });

  it('T-19 refuses an input over maxBytes before decoding it', () => {
    const big = new Uint8Array(2048).fill(0x20);
    const error = parseError(big, { maxBytes: 1024 });
    expect(error.reason).toBe('too-large');
    expect(error.message).toContain('2048 bytes, over the limit of 1024');
    expect(parseError('{"a":"ééé"}', { maxBytes: 12 }).reason).toBe('too-large'); // 14 UTF-8 bytes
    expect(parseFhirJson('{"a":"ééé"}', { maxBytes: 14 })).toEqual({ a: 'ééé' });
  });

  it('T-19 refuses a 10 MB string field over a small configured limit', () => {
    const text = `{"resourceType":"Binary","contentType":"text/plain","data":"${'A'.repeat(10_000_000)}"}`;
    const error = parseError(text, { maxStringLength: 1024 * 1024 });
    expect(error.reason).toBe('string-too-long');
    expect(error.path).toBe('$.data');
    expect(error.message).toContain('10000000 characters is over the limit of 1048576');
    expect(parseError(text, { maxBytes: 1024 * 1024 }).reason).toBe('too-large');
  });

  it('T-19 refuses invalid UTF-8 with the offset of the first bad byte', () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"a":"ok'),
      0xc3,
      0x28,
      ...new TextEncoder().encode('"}'),
    ]);
    const error = parseError(bytes);
    expect(error.reason).toBe('invalid-utf8');
    expect(error.offset).toBe(8);
    expect(parseError(new Uint8Array([0x7b, 0xed, 0xa0, 0x80, 0x7d])).offset).toBe(1); // UTF-8 surrogate
    expect(parseError(new Uint8Array([0x7b, 0xc0, 0xaf, 0x7d])).offset).toBe(1); // overlong "/"
  });

  it.each([
    ['[{"resourceType":"Patient"}]', 'an array'],
    ['"Patient"', 'a string'],
    ['42', 'a number'],
    ['null', 'null'],
  ])('refuses the non-object root %s', (text, kind) => {
    const error = parseError(text);
    expect(error.reason).toBe('not-an-object');
    expect(error.message).toContain(`must be an object (a FHIR resource), got ${kind}`);
  });

  it.each([
    ['', 'syntax', undefined],
    ['{"a":1', 'syntax', '$.a'],
    ['{"a":1,}', 'syntax', '$.a'],
    ['{"a":[1,2,]}', 'syntax', '$.a[2]'],
    ['{"a":01}', 'syntax', '$.a'],
    ['{"a":tru}', 'syntax', '$.a'],
    ['{a:1}', 'syntax', '$'],
    ['{"a":1} {}', 'syntax', '$'],
    ['{"a":"unterminated}', 'syntax', '$.a'],
    ['{"a":"bad \\x escape"}', 'syntax', undefined],
    ['{"a":"raw \u0001 control"}', 'syntax', undefined],
  ])('refuses malformed JSON %j', (text, reason, path) => {
    const error = parseError(text);
    expect(error.reason).toBe(reason);
    if (path !== undefined) expect(error.path).toBe(path);
    expect(error.offset).toBeTypeOf('number');
  });

  it('reports byte offsets in UTF-8, after multi-byte characters', () => {
    const error = parseError('{"név":"é","név":1}');
    expect(error.offset).toBe(13); // 2 two-byte characters before the second key
  });
});
