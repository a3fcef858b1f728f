import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex, sha256HexAsync } from './canonicalJson.ts';

/** The same JSON value with every object's keys in another order. */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reorder(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const shuffled = entries
    .map(([k, v], i) => ({ k, v, w: Math.sin(seed * 997 + i * 131) }))
    .sort((a, b) => a.w - b.w);
  // fromEntries defines own properties, even "__proto__" (which fast-check generates on purpose).
  return Object.fromEntries(shuffled.map(({ k, v }) => [k, reorder(v, seed + 7)]));
}

/** Every path to a leaf of a JSON value. */
function leafPaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.length ? value.flatMap((v, i) => leafPaths(v, [...at, i])) : [at];
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length
      ? keys.flatMap((k) => leafPaths((value as Record<string, unknown>)[k], [...at, k]))
      : [at];
  }
  return [at];
}

function setAt(value: unknown, at: (string | number)[], leaf: unknown): unknown {
  if (at.length === 0) return leaf;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  // defineProperty, not assignment: assigning "__proto__" would change the prototype, not the value.
  Object.defineProperty(node, at[at.length - 1] as string | number, {
    value: leaf,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

/** RFC 8785 written out member by member, independently of canonicalJson's two paths. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('canonicalJson', () => {
  it('is RFC 8785 on its examples: sorted keys by UTF-16 code units, no whitespace, ES number form', () => {
    expect(canonicalJson({ b: [1, { d: true, c: null }], a: 'x' })).toBe(
      '{"a":"x","b":[1,{"c":null,"d":true}]}',
    );
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, ö: 5 })).toBe(
      '{"\\r":2,"1":4,"ö":5,"€":1,"😀":3}'.replace('😀', '\ud83d\ude00'),
    );
    expect(canonicalJson([1e21, 1e-7, -0, 0.1 + 0.2, 4.5, 100])).toBe(
      '[1e+21,1e-7,0,0.30000000000000004,4.5,100]',
    );
    expect(canonicalJson('\u2028<script>"\ud800')).toBe('"\u2028<script>\\"\\ud800"');
  });

  it('is stable under key reordering', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer(), (value, seed) => {
        expect(canonicalJson(reorder(value, seed))).toBe(canonicalJson(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips: parsing the canonical text gives an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 1000 },
    );
  });

  it('sha256 changes when any value changes', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { minKeys: 1 }),
        fc.nat(),
        fc.jsonValue({ maxDepth: 2 }),
        (value, pick, replacement) => {
          const paths = leafPaths(value);
          const at = paths[pick % paths.length] as (string | number)[];
          const old = at.reduce<unknown>(
            (node, key) => (node as Record<string | number, unknown>)[key],
            value,
          );
          fc.pre(canonicalJson(old) !== canonicalJson(replacement));
          const changed = setAt(value, at, replacement);
          expect(sha256Hex(canonicalJson(changed))).not.toBe(sha256Hex(canonicalJson(value)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('hashes the same with noble and WebCrypto (FIPS 180-4 "abc" vector)', async () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex('abc')).toBe(abc);
    expect(await sha256HexAsync('abc')).toBe(abc);
    expect(await sha256HexAsync('{"é":"😀"}')).toBe(sha256Hex('{"é":"😀"}'));
  });

  it('gives the member-by-member text for any JSON value, index-like and "__proto__" keys included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
    const tricky = JSON.parse('{"b":{"10":1,"9":2,"a":[{"2":0,"__proto__":{"x":1}}]},"a":{"toJSON":"kept"}}');
    expect(canonicalJson(tricky)).toBe(reference(tricky));
    expect(canonicalJson(tricky)).toBe(
      '{"a":{"toJSON":"kept"},"b":{"10":1,"9":2,"a":[{"2":0,"__proto__":{"x":1}}]}}',
    );
  });

  it('gives the member-by-member text for every Synthea resource', () => {
    const dir = new URL('../../../../../shared/data/synthea/bundles/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    let resources = 0;
    for (const file of files.slice(0, 5)) {
      const bundle = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as {
        entry: { resource: unknown }[];
      };
      for (const { resource } of bundle.entry) {
        expect(canonicalJson(resource)).toBe(reference(resource));
        resources++;
      }
    }
    expect(resources).toBeGreaterThan(100);
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(/function is not a JSON value/);
    expect(() => canonicalJson({ 1: { a: Number.POSITIVE_INFINITY } })).toThrow(TypeError);
    expect(() => canonicalJson([1, undefined])).toThrow(/undefined is not a JSON value/);
  });
});
