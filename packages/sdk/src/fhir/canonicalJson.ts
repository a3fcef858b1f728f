import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * The canonical JSON text of a JSON value: the JSON Canonicalization Scheme (JCS, RFC 8785). Object members
 * sorted by their names' UTF-16 code units, no whitespace, strings and numbers serialised as ECMAScript's
 * `JSON.stringify` does (shortest round-trip numbers, `\uXXXX` escapes for controls and lone surrogates),
 * array order kept. Equal values give equal text whatever their key order; this text is what is hashed and
 * encrypted. Note that FHIR decimals go through IEEE-754 doubles: `1.50` is written `1.5`.
 *
 * @param value a JSON value (no `undefined`, functions, `NaN` or `Infinity`).
 * @throws {TypeError} for a value JSON cannot represent.
 * @example
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  // Fast path: a copy with every object's members inserted in sorted order, serialised by the native
  // JSON.stringify (which writes string keys in insertion order, primitives as below): ≈ 2.5× less CPU than
  // building the text member by member. Keys JSON.stringify would reorder (array indices such as "1", which
  // objects list first in numeric order) or that assignment cannot create ("__proto__"), and a `toJSON` on the
  // prototypes, send the value to the member-by-member path.
  if (!(TO_JSON in Object.prototype) && !(TO_JSON in Array.prototype)) {
    const copy = sortedCopy(value);
    if (copy !== UNSORTABLE) return JSON.stringify(copy);
  }
  return canonicalText(value);
}

const TO_JSON = 'toJSON';
const UNSORTABLE: unique symbol = Symbol('unsortable');

/** A JSON primitive as is, or a TypeError for what JSON cannot represent (as `canonicalText`). */
function primitive(value: unknown): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    return value;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
}

/** The value with each object's members inserted in sorted order, or `UNSORTABLE` (see `canonicalJson`). */
function sortedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return primitive(value);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = sortedCopy(value[i]);
      if (item === UNSORTABLE) return UNSORTABLE;
      out[i] = item;
    }
    return out;
  }
  const object = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, as RFC 8785 §3.2.3 requires.
  const keys = Object.keys(object).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    const first = key.charCodeAt(0);
    if ((first >= 0x30 && first <= 0x39) || key === '__proto__') return UNSORTABLE;
    const copy = sortedCopy(member);
    if (copy === UNSORTABLE) return UNSORTABLE;
    out[key] = copy;
  }
  return out;
}

/** The canonical text built member by member (any key). */
function canonicalText(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i > 0 ? ',' : '') + canonicalText(value[i]);
    return `${text}]`;
  }
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    let text = '{';
    let first = true;
    for (const key of keys) {
      const member = object[key];
      if (member === undefined) continue;
      text += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalText(member)}`;
      first = false;
    }
    return `${text}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of a text (the `sha256` of a record's `canonicalJson`). */
export function sha256Hex(text: string | Uint8Array): string {
  return bytesToHex(sha256(typeof text === 'string' ? utf8ToBytes(text) : text));
}

/** {@link sha256Hex} with WebCrypto (native in Node and browsers; 2–3× faster than noble on 4 kB texts here). */
export async function sha256HexAsync(text: string): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8ToBytes(text))));
}
