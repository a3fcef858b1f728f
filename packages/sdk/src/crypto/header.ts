import { InvalidHeaderError } from '../errors/crypto.ts';
import { asciiToString, decodeBase64Bytes, encodeBase64Bytes } from './base64.ts';
import { concatBytes, hkdfSha256, hmacSha256, utf8 } from './primitives.ts';
import { encodeStanza, parseStanzaAt, type Stanza } from './stanza.ts';

/** The first line of every age v1 file (https://age-encryption.org/v1). */
export const AGE_VERSION_LINE = 'age-encryption.org/v1';
const VERSION = utf8(`${AGE_VERSION_LINE}\n`);
const MAC_PREFIX = utf8('---');
const LF = 0x0a;

/** A parsed age header. */
export type Header = {
  /** The recipient stanzas, in file order (unknown types included). */
  readonly stanzas: readonly Stanza[];
  /** The 32-byte header MAC. */
  readonly mac: Uint8Array;
  /** The bytes the MAC covers: the header up to and including `---`. */
  readonly macInput: Uint8Array;
  /** The header's length in bytes, i.e. where the payload (nonce) starts. */
  readonly length: number;
};

function invalid(reason: string): never {
  throw new InvalidHeaderError({ details: { reason } });
}

/**
 * Finds where a header ends in `bytes`: the offset just past the MAC line's
 * newline (`end`), or, while the MAC line is incomplete, `end = -1` and the
 * offset to `resume` the scan from once more bytes have arrived. Only the first
 * line that starts with `---` can end a header: stanza lines start with `->`
 * and bodies are base64, which has no `-`.
 */
export function findHeaderEnd(bytes: Uint8Array, from = 0): { end: number; resume: number } {
  let i = from;
  for (;;) {
    i = bytes.indexOf(LF, i);
    if (i < 0) return { end: -1, resume: bytes.length };
    if (i + 3 >= bytes.length) return { end: -1, resume: i };
    if (bytes[i + 1] === 0x2d && bytes[i + 2] === 0x2d && bytes[i + 3] === 0x2d) {
      const end = bytes.indexOf(LF, i + 1);
      return end < 0 ? { end: -1, resume: i } : { end: end + 1, resume: i };
    }
    i++;
  }
}

/**
 * Parses an age header strictly: the version line, one or more stanzas, and
 * `--- <base64 MAC>`. `bytes` may continue past the header (with the payload).
 *
 * @throws InvalidHeaderError for any deviation from the spec.
 */
export function parseHeader(bytes: Uint8Array): Header {
  for (let i = 0; i < VERSION.length; i++) if (bytes[i] !== VERSION[i]) invalid('bad version line');
  const stanzas: Stanza[] = [];
  let pos = VERSION.length;
  for (;;) {
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d && bytes[pos + 2] === 0x2d) break;
    const { stanza, end } = parseStanzaAt(bytes, pos);
    stanzas.push(stanza);
    pos = end;
  }
  if (stanzas.length === 0) invalid('no recipient stanza');
  const macInputEnd = pos + 3;
  const eol = bytes.indexOf(LF, macInputEnd);
  if (eol < 0) invalid('unterminated MAC line');
  if (bytes[macInputEnd] !== 0x20 || eol - macInputEnd !== 44) invalid('bad MAC line');
  const mac = decodeBase64Bytes(bytes.subarray(macInputEnd + 1, eol), false);
  if (mac?.length !== 32) invalid('bad MAC encoding');
  return { stanzas, mac, macInput: bytes.slice(0, macInputEnd), length: eol + 1 };
}

/** HMAC-SHA256 of the header text, keyed with HKDF(fileKey, "header"). */
export function computeHeaderMac(fileKey: Uint8Array, macInput: Uint8Array): Uint8Array {
  const key = hkdfSha256(fileKey, new Uint8Array(0), 'header', 32);
  return hmacSha256(key, macInput);
}

/** Serialises a header for `stanzas` with its MAC under `fileKey` (see `assembleHeader`). */
export function encodeHeader(fileKey: Uint8Array, stanzas: readonly Stanza[]): Uint8Array {
  if (stanzas.length === 0) invalid('a header needs at least one stanza');
  let text = `${AGE_VERSION_LINE}\n`;
  for (const s of stanzas) text += encodeStanza(s);
  const macInput = concatBytes(utf8(text), MAC_PREFIX);
  const mac = computeHeaderMac(fileKey, macInput);
  return concatBytes(macInput, utf8(` ${asciiToString(encodeBase64Bytes(mac, false))}\n`));
}
