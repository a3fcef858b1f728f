import { InvalidHeaderError } from '../errors/crypto.ts';
import { asciiToString, decodeBase64Bytes, encodeBase64Bytes } from './base64.ts';

/**
 * One recipient stanza of an age header: `-> type arg...` and a body.
 * In Carekey a stanza is an *envelope*: the record's file key wrapped to one
 * reader. It can be stored apart from the payload (`encodeStanza`) and put
 * back into a header later (`assembleHeader`).
 */
export type Stanza = {
  /** The stanza type, e.g. "X25519", "scrypt", "mlkem768x25519" (case-sensitive). */
  readonly type: string;
  /** The arguments after the type, each a non-empty run of printable ASCII. */
  readonly args: readonly string[];
  /** The decoded body (for the built-in types, the wrapped file key). */
  readonly body: Uint8Array;
};

const LF = 0x0a;
const COLUMNS = 64;

/** Is `s` a valid age argument: one or more printable ASCII characters (0x21–0x7e)? */
export function isValidArgument(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function invalid(reason: string): never {
  throw new InvalidHeaderError({ details: { reason } });
}

/**
 * Serialises a stanza in its header form: `-> type args\n` then the body in
 * unpadded base64 wrapped at 64 columns, the last line always shorter than 64
 * (empty if need be). This is the form to store a stanza apart (text, UTF-8 safe).
 *
 * @throws InvalidHeaderError if the type or an argument is empty or not printable ASCII.
 * @example
 * const text = encodeStanza(stanza); // "-> X25519 abc...\nbody...\n"
 * decodeStanza(text); // the same stanza
 */
export function encodeStanza(stanza: Stanza): string {
  for (const arg of [stanza.type, ...stanza.args]) {
    if (!isValidArgument(arg)) invalid('stanza type and arguments must be non-empty printable ASCII');
  }
  const body = asciiToString(encodeBase64Bytes(stanza.body, false));
  let text = `-> ${[stanza.type, ...stanza.args].join(' ')}\n`;
  let off = 0;
  for (; body.length - off >= COLUMNS; off += COLUMNS) text += `${body.slice(off, off + COLUMNS)}\n`;
  return `${text}${body.slice(off)}\n`;
}

/**
 * Parses one stanza at `pos` of a header (strictly, as the age spec says).
 * Returns the stanza and the offset just past it.
 * @internal
 */
export function parseStanzaAt(bytes: Uint8Array, pos: number): { stanza: Stanza; end: number } {
  let eol = bytes.indexOf(LF, pos);
  if (eol < 0) invalid('unterminated stanza line');
  if (bytes[pos] !== 0x2d || bytes[pos + 1] !== 0x3e || bytes[pos + 2] !== 0x20) invalid('bad stanza prefix');
  const words = asciiToString(bytes.subarray(pos + 3, eol)).split(' ');
  for (const w of words) if (!isValidArgument(w)) invalid('bad stanza argument');
  const [type, ...args] = words as [string, ...string[]];
  const lines: Uint8Array[] = [];
  let p = eol + 1;
  for (;;) {
    eol = bytes.indexOf(LF, p);
    if (eol < 0) invalid('unterminated stanza body');
    const line = bytes.subarray(p, eol);
    if (line.length > COLUMNS) invalid('stanza body line too long');
    lines.push(line);
    p = eol + 1;
    if (line.length < COLUMNS) break;
  }
  let total = 0;
  for (const l of lines) total += l.length;
  const text = new Uint8Array(total);
  total = 0;
  for (const l of lines) {
    text.set(l, total);
    total += l.length;
  }
  const body = decodeBase64Bytes(text, false);
  if (!body) invalid('stanza body is not canonical base64');
  return { stanza: { type, args, body }, end: p };
}

/**
 * Parses a stanza stored apart (the output of `encodeStanza`, as a string or bytes).
 * @throws InvalidHeaderError if it is not exactly one well-formed stanza.
 */
export function decodeStanza(encoded: string | Uint8Array): Stanza {
  const bytes = typeof encoded === 'string' ? new TextEncoder().encode(encoded) : encoded;
  const { stanza, end } = parseStanzaAt(bytes, 0);
  if (end !== bytes.length) invalid('trailing data after stanza');
  return stanza;
}
