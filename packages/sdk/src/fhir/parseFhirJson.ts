import { FhirParseError } from '../errors/fhir.ts';

/** A JSON value as parsed from FHIR JSON. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
/** A JSON object as parsed from FHIR JSON (own properties only; no `__proto__`, `constructor`, `prototype`). */
export type JsonObject = { [key: string]: JsonValue };

/** Default largest accepted input: 64 MiB of UTF-8. */
export const DEFAULT_MAX_FHIR_BYTES = 64 * 1024 * 1024;
/** Default deepest accepted nesting of objects and arrays (Synthea needs 12, IPS 11). */
export const DEFAULT_MAX_FHIR_DEPTH = 64;

export type ParseFhirJsonParameters = {
  /** Largest accepted input in UTF-8 bytes (default 64 MiB). */
  maxBytes?: number;
  /** Deepest accepted nesting of objects and arrays (default 64). */
  maxDepth?: number;
  /** Longest accepted string value or key, in UTF-16 code units of the raw JSON text (default: `maxBytes`). */
  maxStringLength?: number;
};

export type ParseFhirJsonReturnType = JsonObject;

/** Keys that could reach an object's prototype if the parsed value is ever merged or spread (T-19). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

type Frame = { isObject: boolean; keys: Set<string> | undefined; key: string | number | undefined };

/**
 * Parses FHIR JSON strictly and safely (T-19): refuses inputs over a size limit, invalid UTF-8, nesting
 * deeper than a limit, over-long strings, duplicate keys (which `JSON.parse` would silently collapse to the
 * last one), `__proto__` / `constructor` / `prototype` keys, and roots that are not a JSON object.
 *
 * A linear scanner checks the text first (it stops at the first fault, so a hostile input costs at most
 * one pass and no allocation of its values); `JSON.parse` then builds the value natively.
 *
 * @param input UTF-8 bytes or a string.
 * @param parameters limits (see {@link ParseFhirJsonParameters}).
 * @returns the root JSON object (not yet checked as FHIR: see `validateFhir`).
 * @throws {FhirParseError} with `reason`, the UTF-8 byte `offset` and the JSON `path` of the first fault.
 * @example
 * const resource = parseFhirJson(await file.bytes(), { maxBytes: 1 << 20 });
 */
export function parseFhirJson(
  input: Uint8Array | string,
  parameters: ParseFhirJsonParameters = {},
): ParseFhirJsonReturnType {
  const maxBytes = parameters.maxBytes ?? DEFAULT_MAX_FHIR_BYTES;
  const maxDepth = parameters.maxDepth ?? DEFAULT_MAX_FHIR_DEPTH;
  const maxStringLength = parameters.maxStringLength ?? maxBytes;
  let text: string;
  let bomBytes = 0;
  if (typeof input === 'string') {
    if (input.length > maxBytes || (input.length * 3 > maxBytes && utf8Length(input) > maxBytes)) {
      throw tooLarge(input.length > maxBytes ? input.length : utf8Length(input), maxBytes);
    }
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
    bomBytes = text === input ? 0 : 3;
  } else {
    if (input.byteLength > maxBytes) throw tooLarge(input.byteLength, maxBytes);
    try {
      // `fatal` refuses invalid UTF-8 instead of silently replacing it with U+FFFD; a leading BOM is dropped.
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (cause) {
      const offset = firstInvalidUtf8(input);
      throw new FhirParseError('the input is not valid UTF-8', {
        reason: 'invalid-utf8',
        offset,
        hint: 'FHIR JSON must be UTF-8 (RFC 8259 §8.1)',
        cause,
      });
    }
    bomBytes = input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? 3 : 0;
  }
  const byteOffset = (charOffset: number) => bomBytes + utf8Length(text.slice(0, charOffset));
  scan(text, { maxDepth, maxStringLength, byteOffset });
  try {
    return JSON.parse(text) as JsonObject;
  } catch (cause) {
    // The scanner checks structure; JSON.parse still finds faults inside strings (bad escapes, raw control
    // characters). V8 says "... at position N".
    const position = /position (\d+)/.exec(String((cause as Error).message));
    const offset = position ? byteOffset(Number(position[1])) : undefined;
    throw new FhirParseError(`malformed JSON: ${(cause as Error).message}`, {
      reason: 'syntax',
      ...(offset === undefined ? {} : { offset }),
      hint: 'check string escapes and control characters',
      cause,
    });
  }
}

function tooLarge(size: number, maxBytes: number): FhirParseError {
  return new FhirParseError(`the input is ${size} bytes, over the limit of ${maxBytes} bytes`, {
    reason: 'too-large',
    hint: 'split it into several Bundles or raise maxBytes',
  });
}

type ScanOptions = { maxDepth: number; maxStringLength: number; byteOffset: (charOffset: number) => number };

/** Checks JSON structure, limits and keys in one pass without building values. */
function scan(text: string, options: ScanOptions): void {
  const n = text.length;
  const stack: Frame[] = [];
  let i = 0;

  /** JSON path of the current position; `key` replaces the innermost object's key (a key being read). */
  const pathOf = (key?: string): string => {
    let path = '$';
    stack.forEach((frame, depth) => {
      const segment = depth === stack.length - 1 && key !== undefined ? key : frame.key;
      if (segment === undefined) return;
      path +=
        typeof segment === 'number'
          ? `[${segment}]`
          : /^[A-Za-z_]\w*$/.test(segment)
            ? `.${segment}`
            : `[${JSON.stringify(segment)}]`;
    });
    return path;
  };
  // Position of the next backslash at or after the last query (-1: none left). Queries move forward only,
  // so finding escapes costs one pass over the text in all.
  let nextBackslash = -2;
  const hasBackslash = (from: number, to: number): boolean => {
    if (nextBackslash !== -1 && nextBackslash < from) nextBackslash = text.indexOf('\\', from);
    return nextBackslash !== -1 && nextBackslash < to;
  };
  const fail = (
    message: string,
    reason: 'syntax' | 'too-deep' | 'string-too-long',
    at: number,
    hint?: string,
  ) =>
    new FhirParseError(message, {
      reason,
      offset: options.byteOffset(at),
      path: pathOf(),
      ...(hint === undefined ? {} : { hint }),
    });
  const describe = (at: number) =>
    at >= n ? 'end of input' : `character ${JSON.stringify(text.slice(at, at + 1))}`;
  const skipWs = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  /** Scans the string starting at `i` (a quote); returns its end (after the closing quote) and whether it has escapes. */
  const scanString = (): { end: number; escaped: boolean } => {
    const start = i;
    let j = i + 1;
    for (;;) {
      const q = text.indexOf('"', j);
      if (q < 0) throw fail('unterminated string', 'syntax', start);
      let backslashes = 0;
      for (let k = q - 1; k > start && text.charCodeAt(k) === 0x5c; k--) backslashes++;
      if (backslashes % 2 === 0) {
        if (q - start - 1 > options.maxStringLength) {
          throw fail(
            `a string of ${q - start - 1} characters is over the limit of ${options.maxStringLength}`,
            'string-too-long',
            start,
            'store large content as a file (DocumentReference/Binary), or raise maxStringLength',
          );
        }
        return { end: q + 1, escaped: hasBackslash(start + 1, q) };
      }
      j = q + 1;
    }
  };
  const openFrame = (isObject: boolean, at: number) => {
    if (stack.length + 1 > options.maxDepth) {
      throw fail(
        `nesting deeper than ${options.maxDepth} levels`,
        'too-deep',
        at,
        'FHIR resources are never this deep; raise maxDepth only for trusted input',
      );
    }
    stack.push({ isObject, keys: isObject ? new Set() : undefined, key: isObject ? undefined : 0 });
  };

  skipWs();
  const first = text.charCodeAt(i);
  if (first !== 0x7b) {
    const kind =
      i >= n
        ? 'nothing'
        : first === 0x5b
          ? 'an array'
          : first === 0x22
            ? 'a string'
            : first === 0x2d || (first >= 0x30 && first <= 0x39)
              ? 'a number'
              : text.startsWith('true', i) || text.startsWith('false', i)
                ? 'a boolean'
                : text.startsWith('null', i)
                  ? 'null'
                  : `${describe(i)}`;
    throw new FhirParseError(`the JSON root must be an object (a FHIR resource), got ${kind}`, {
      reason: i < n && /^[[{"\-\dtfn]/.test(text.slice(i, i + 1)) ? 'not-an-object' : 'syntax',
      offset: options.byteOffset(i),
      path: '$',
      hint: 'send one FHIR resource or Bundle, like {"resourceType":"Patient",...}',
    });
  }

  // States: 0 = expect a value, 1 = expect a key (or the end of an empty object), 2 = after a value.
  let state = 0;
  for (;;) {
    if (state === 0) {
      skipWs();
      const c = text.charCodeAt(i);
      if (c === 0x7b) {
        openFrame(true, i);
        i++;
        skipWs();
        if (text.charCodeAt(i) === 0x7d) {
          i++;
          stack.pop();
          state = 2;
        } else state = 1;
      } else if (c === 0x5b) {
        openFrame(false, i);
        i++;
        skipWs();
        if (text.charCodeAt(i) === 0x5d) {
          i++;
          stack.pop();
          state = 2;
        }
      } else if (c === 0x22) {
        i = scanString().end;
        state = 2;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        NUMBER.lastIndex = i;
        if (!NUMBER.test(text)) throw fail(`malformed number`, 'syntax', i);
        i = NUMBER.lastIndex;
        state = 2;
      } else if (text.startsWith('true', i)) {
        i += 4;
        state = 2;
      } else if (text.startsWith('false', i)) {
        i += 5;
        state = 2;
      } else if (text.startsWith('null', i)) {
        i += 4;
        state = 2;
      } else {
        throw fail(`expected a value, got ${describe(i)}`, 'syntax', i);
      }
    } else if (state === 1) {
      skipWs();
      if (text.charCodeAt(i) !== 0x22) throw fail(`expected a quoted key, got ${describe(i)}`, 'syntax', i);
      const start = i;
      const { end, escaped } = scanString();
      let key: string;
      if (escaped) {
        try {
          key = JSON.parse(text.slice(start, end)) as string;
        } catch {
          throw fail(
            `malformed escape in key ${text.slice(start, Math.min(end, start + 40))}`,
            'syntax',
            start,
          );
        }
      } else key = text.slice(start + 1, end - 1);
      const frame = stack[stack.length - 1] as Frame;
      if (FORBIDDEN_KEYS.has(key)) {
        throw new FhirParseError(`forbidden key ${JSON.stringify(key)}`, {
          reason: 'forbidden-key',
          offset: options.byteOffset(start),
          path: pathOf(key),
          hint: '"__proto__", "constructor" and "prototype" are never FHIR element names (prototype pollution, T-19)',
        });
      }
      if ((frame.keys as Set<string>).has(key)) {
        throw new FhirParseError(`duplicate key ${JSON.stringify(key)}`, {
          reason: 'duplicate-key',
          offset: options.byteOffset(start),
          path: pathOf(key),
          hint: 'each property may appear once in a JSON object (JSON.parse would silently keep the last one)',
        });
      }
      (frame.keys as Set<string>).add(key);
      frame.key = key;
      i = end;
      skipWs();
      if (text.charCodeAt(i) !== 0x3a)
        throw fail(`expected ":" after a key, got ${describe(i)}`, 'syntax', i);
      i++;
      state = 0;
    } else {
      skipWs();
      const frame = stack[stack.length - 1];
      if (frame === undefined) {
        if (i < n) throw fail(`unexpected ${describe(i)} after the end of the JSON value`, 'syntax', i);
        return;
      }
      const c = text.charCodeAt(i);
      if (c === 0x2c) {
        i++;
        if (frame.isObject) state = 1;
        else {
          frame.key = (frame.key as number) + 1;
          state = 0;
        }
      } else if (frame.isObject ? c === 0x7d : c === 0x5d) {
        i++;
        stack.pop();
      } else {
        throw fail(`expected "," or "${frame.isObject ? '}' : ']'}", got ${describe(i)}`, 'syntax', i);
      }
    }
  }
}

/** Number of UTF-8 bytes of a string (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 code units
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Byte offset of the first invalid UTF-8 sequence (RFC 3629), for error messages only. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0xff >> (need + 2));
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}
