import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from './ApiError.ts';
import { MAX_JSON_DEPTH, parseStrictJson } from './parseStrictJson.ts';

function code(text: string | Uint8Array, maxDepth?: number): string {
  try {
    parseStrictJson({ text, maxDepth });
    return 'ok';
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

describe('parseStrictJson', () => {
  it('T-19 parses what JSON.parse parses when keys are unique and allowed, within the depth limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const text = JSON.stringify(value);
        const hasForbidden = /"(__proto__|constructor|prototype)":/.test(text);
        if (hasForbidden) expect(code(text)).toBe('forbidden-key');
        else expect(parseStrictJson({ text })).toEqual(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('T-19 refuses __proto__, constructor and prototype keys at any depth, escaped or not', () => {
    for (const text of [
      '{"__proto__":{"admin":true}}',
      '[{"a":{"constructor":{"prototype":{"x":1}}}}]',
      '{"\\u005f\\u005fproto\\u005f\\u005f":1}',
      '{"a":1,"prototype":2}',
    ]) {
      expect(code(text), text).toBe('forbidden-key');
    }
    // As values they are harmless.
    expect(parseStrictJson({ text: '{"a":"__proto__","b":["constructor"]}' })).toEqual({
      a: '__proto__',
      b: ['constructor'],
    });
  });

  it('T-19 refuses nesting deeper than the limit without recursion (depth 10^6)', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(code(deep(MAX_JSON_DEPTH))).toBe('ok');
    expect(code(deep(MAX_JSON_DEPTH + 1))).toBe('json-too-deep');
    expect(code(deep(1_000_000))).toBe('json-too-deep');
    expect(code(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`)).toBe('json-too-deep');
    expect(code('[[["a"]]]', 2)).toBe('json-too-deep');
  });

  it('T-19 refuses duplicate keys (also when spelled with escapes), but not the same key in sibling objects', () => {
    expect(code('{"a":1,"a":2}')).toBe('duplicate-key');
    expect(code('{"a":1,"\\u0061":2}')).toBe('duplicate-key');
    expect(code('{"a":{"b":1},"c":{"b":2}}')).toBe('ok');
    expect(code('[{"a":1},{"a":2}]')).toBe('ok');
    expect(code('{"a":"{\\"a\\":1}","b":"a"}')).toBe('ok');
  });

  it('T-19 refuses invalid UTF-8 and invalid JSON, whatever the junk', () => {
    expect(code(Uint8Array.from([0x22, 0xc3, 0x28, 0x22]))).toBe('invalid-json');
    for (const text of ['', '{', '{"a":}', "{'a':1}", '[1,]', 'NaN', '{"a":1}x']) {
      expect(code(text), text).toBe('invalid-json');
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(['ok', 'invalid-json', 'json-too-deep', 'duplicate-key', 'forbidden-key']).toContain(
          code(text),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
