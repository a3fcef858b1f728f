/**
 * Strict standard base64 (RFC 4648 §4) as age needs it: the header uses the
 * unpadded form, the ASCII armor the padded one, and both must be canonical
 * (no stray characters, no non-zero trailing bits), so every encoding has
 * exactly one accepted spelling. Internal to the crypto module.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = new Uint8Array(64);
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i);
  DECODE[ALPHABET.charCodeAt(i)] = i;
}
const EQ = 0x3d;

/** Encodes bytes as base64 ASCII bytes (padded when `padded`). */
export function encodeBase64Bytes(data: Uint8Array, padded: boolean): Uint8Array {
  const full = Math.floor(data.length / 3);
  const rest = data.length - full * 3;
  const outLen = full * 4 + (rest === 0 ? 0 : padded ? 4 : rest + 1);
  const out = new Uint8Array(outLen);
  let o = 0;
  let i = 0;
  for (let k = 0; k < full; k++, i += 3) {
    const n = ((data[i] as number) << 16) | ((data[i + 1] as number) << 8) | (data[i + 2] as number);
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    out[o++] = ENCODE[(n >>> 6) & 63] as number;
    out[o++] = ENCODE[n & 63] as number;
  }
  if (rest === 1) {
    const n = (data[i] as number) << 16;
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    if (padded) {
      out[o++] = EQ;
      out[o++] = EQ;
    }
  } else if (rest === 2) {
    const n = ((data[i] as number) << 16) | ((data[i + 1] as number) << 8);
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    out[o++] = ENCODE[(n >>> 6) & 63] as number;
    if (padded) out[o++] = EQ;
  }
  return out;
}

/** Encodes bytes as an unpadded base64 string (the age header form). */
export function encodeBase64(data: Uint8Array): string {
  return asciiToString(encodeBase64Bytes(data, false));
}

/**
 * Decodes canonical base64 from ASCII bytes; returns `undefined` when the input
 * is not the one canonical encoding (wrong characters, wrong padding, length,
 * or non-zero trailing bits).
 */
export function decodeBase64Bytes(text: Uint8Array, padded: boolean): Uint8Array | undefined {
  let len = text.length;
  if (padded) {
    if (len % 4 !== 0) return undefined;
    if (len > 0 && text[len - 1] === EQ) len--;
    if (len > 0 && text[len - 1] === EQ) len--;
    if (text.length - len === 2 && len % 4 !== 2) return undefined;
    if (text.length - len === 1 && len % 4 !== 3) return undefined;
  }
  const rest = len % 4;
  if (rest === 1) return undefined;
  const full = (len - rest) / 4;
  const out = new Uint8Array(full * 3 + (rest === 0 ? 0 : rest - 1));
  let o = 0;
  let i = 0;
  for (let k = 0; k < full; k++, i += 4) {
    const a = DECODE[text[i] as number] as number;
    const b = DECODE[text[i + 1] as number] as number;
    const c = DECODE[text[i + 2] as number] as number;
    const d = DECODE[text[i + 3] as number] as number;
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  if (rest === 2) {
    const a = DECODE[text[i] as number] as number;
    const b = DECODE[text[i + 1] as number] as number;
    if ((a | b) < 0 || (b & 15) !== 0) return undefined;
    out[o++] = (a << 2) | (b >>> 4);
  } else if (rest === 3) {
    const a = DECODE[text[i] as number] as number;
    const b = DECODE[text[i + 1] as number] as number;
    const c = DECODE[text[i + 2] as number] as number;
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined;
    const n = (a << 12) | (b << 6) | c;
    out[o++] = n >>> 10;
    out[o++] = (n >>> 2) & 255;
  }
  return out;
}

/** Decodes a canonical unpadded base64 string; `undefined` if it is not canonical. */
export function decodeBase64(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) return undefined;
    bytes[i] = c;
  }
  return decodeBase64Bytes(bytes, false);
}

/** Is `c` a base64 alphabet character (not padding)? */
export function isBase64Char(c: number): boolean {
  return (DECODE[c] as number) >= 0;
}

/** Latin-1/ASCII bytes to string, in slices to stay under argument limits. */
export function asciiToString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}
