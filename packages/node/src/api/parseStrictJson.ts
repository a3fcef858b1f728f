import { ApiError } from './ApiError.ts';

/** Deepest nesting of arrays and objects a request body may have (THREAT-MODEL T-19). */
export const MAX_JSON_DEPTH = 32;

/** Keys refused anywhere in a request body: they pollute prototypes when merged naively (T-19). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type ParseStrictJsonParameters = {
  /** The body as received (UTF-8 bytes or text). */
  text: string | Uint8Array;
  /** Deepest nesting allowed (default {@link MAX_JSON_DEPTH}). */
  maxDepth?: number | undefined;
};

export type ParseStrictJsonReturnType = unknown;

type Frame = { object: boolean; keys: Set<string>; expectKey: boolean };

/**
 * Parses a JSON request body strictly: valid UTF-8 only, nesting at most `maxDepth`, no duplicate keys in an
 * object, and no `__proto__`, `constructor` or `prototype` keys (RFC 8259 leaves duplicates undefined; we refuse
 * them so that two parsers can never read the same body differently).
 *
 * A single linear scan checks structure before `JSON.parse` builds the value, so a deeply nested body is refused
 * without recursion.
 *
 * @throws {ApiError} 400 `invalid-json` (syntax or UTF-8), `json-too-deep`, `duplicate-key`, `forbidden-key`.
 * @example
 * parseStrictJson({ text: '{"a":1}' }) // { a: 1 }
 */
export function parseStrictJson(parameters: ParseStrictJsonParameters): ParseStrictJsonReturnType {
  const maxDepth = parameters.maxDepth ?? MAX_JSON_DEPTH;
  let text: string;
  if (typeof parameters.text === 'string') text = parameters.text;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(parameters.text);
    } catch {
      throw new ApiError({ status: 400, code: 'invalid-json', detail: 'the body is not valid UTF-8' });
    }
  }
  scan(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError({ status: 400, code: 'invalid-json', detail: 'the body is not valid JSON' });
  }
}

function scan(text: string, maxDepth: number): void {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
      const top = stack.at(-1);
      if (top?.object && top.expectKey) {
        let key: unknown;
        try {
          key = JSON.parse(text.slice(start, i));
        } catch {
          throw new ApiError({ status: 400, code: 'invalid-json', detail: 'the body is not valid JSON' });
        }
        if (typeof key !== 'string') {
          throw new ApiError({ status: 400, code: 'invalid-json', detail: 'the body is not valid JSON' });
        }
        if (FORBIDDEN_KEYS.has(key)) {
          throw new ApiError({
            status: 400,
            code: 'forbidden-key',
            detail: `the key "${key}" is not allowed in a request body`,
          });
        }
        if (top.keys.has(key)) {
          throw new ApiError({ status: 400, code: 'duplicate-key', detail: 'an object repeats a key' });
        }
        top.keys.add(key);
        top.expectKey = false;
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) {
        throw new ApiError({
          status: 400,
          code: 'json-too-deep',
          detail: `the body nests deeper than ${maxDepth} levels`,
        });
      }
      stack.push({ object: c === 0x7b, keys: new Set(), expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.object) top.expectKey = true;
    }
    i++;
  }
}
