import { InvalidArmorError } from '../errors/crypto.ts';
import { decodeBase64Bytes, encodeBase64Bytes } from './base64.ts';
import type { Sink } from './payload.ts';
import { utf8 } from './primitives.ts';

/*
 * age's ASCII armor (https://age-encryption.org/v1, "ASCII armor"): strict
 * PEM. `-----BEGIN AGE ENCRYPTED FILE-----`, padded canonical base64 in lines of
 * exactly 64 columns except a shorter (non-empty) last one, then
 * `-----END AGE ENCRYPTED FILE-----`. Lines end in LF or CRLF; whitespace is
 * allowed only before the first and after the last line. No headers, no
 * checksum. Both directions stream with constant memory.
 */
const BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const END = '-----END AGE ENCRYPTED FILE-----';
const BEGIN_BYTES = utf8(BEGIN);
const END_BYTES = utf8(END);
const COLUMNS = 64;
const BYTES_PER_LINE = 48;
const LF = 0x0a;
const CR = 0x0d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === CR || c === LF;
}

function fail(reason: string): never {
  throw new InvalidArmorError({ details: { reason } });
}

/** Streams bytes into ASCII armor (LF line endings). */
export class ArmorEncoder {
  readonly #pending = new Uint8Array(BYTES_PER_LINE * 1024);
  #pendingLength = 0;
  #started = false;

  #begin(sink: Sink): void {
    if (!this.#started) {
      this.#started = true;
      sink(utf8(`${BEGIN}\n`));
    }
  }

  /** Encodes full 48-byte lines of `bytes` (from the pending buffer). */
  #flushLines(lines: number, sink: Sink): void {
    const out = new Uint8Array(lines * (COLUMNS + 1));
    for (let i = 0; i < lines; i++) {
      const text = encodeBase64Bytes(
        this.#pending.subarray(i * BYTES_PER_LINE, (i + 1) * BYTES_PER_LINE),
        true,
      );
      out.set(text, i * (COLUMNS + 1));
      out[i * (COLUMNS + 1) + COLUMNS] = LF;
    }
    sink(out);
  }

  write(data: Uint8Array, sink: Sink): void {
    this.#begin(sink);
    let off = 0;
    while (off < data.length) {
      const take = Math.min(this.#pending.length - this.#pendingLength, data.length - off);
      this.#pending.set(data.subarray(off, off + take), this.#pendingLength);
      this.#pendingLength += take;
      off += take;
      if (this.#pendingLength === this.#pending.length) {
        // keep the last line back: the final line must be non-empty
        const lines = this.#pending.length / BYTES_PER_LINE - 1;
        this.#flushLines(lines, sink);
        this.#pending.copyWithin(0, lines * BYTES_PER_LINE, this.#pendingLength);
        this.#pendingLength -= lines * BYTES_PER_LINE;
      }
    }
  }

  end(sink: Sink): void {
    this.#begin(sink);
    const lines = Math.floor(this.#pendingLength / BYTES_PER_LINE);
    const rest = this.#pendingLength - lines * BYTES_PER_LINE;
    if (lines > 0) this.#flushLines(lines, sink);
    let tail = '';
    if (rest > 0) {
      const text = encodeBase64Bytes(
        this.#pending.subarray(lines * BYTES_PER_LINE, this.#pendingLength),
        true,
      );
      tail = `${String.fromCharCode(...text)}\n`;
    }
    this.#pendingLength = 0;
    sink(utf8(`${tail}${END}\n`));
  }
}

type DecoderState = 'leading' | 'begin' | 'body' | 'trailing';

/**
 * Streams ASCII armor back into bytes, strictly. Memory is one line.
 * @throws InvalidArmorError on any deviation (also at `end` if the END line is missing).
 */
export class ArmorDecoder {
  #state: DecoderState = 'leading';
  readonly #line = new Uint8Array(COLUMNS + 2);
  #lineLength = 0;
  #sawShortLine = false;

  /** Handles one complete line (without its LF; a trailing CR is stripped here). */
  #onLine(sink: Sink): void {
    let len = this.#lineLength;
    if (len > 0 && this.#line[len - 1] === CR) len--;
    const line = this.#line.subarray(0, len);
    this.#lineLength = 0;
    if (this.#state === 'begin') {
      if (!equals(line, BEGIN_BYTES)) fail('bad BEGIN line');
      this.#state = 'body';
      return;
    }
    // body
    if (equals(line, END_BYTES)) {
      this.#state = 'trailing';
      return;
    }
    if (this.#sawShortLine) fail('line after the last (short or padded) line');
    if (len === 0) fail('empty line');
    if (len > COLUMNS) fail('line too long');
    if (len < COLUMNS || line[len - 1] === 0x3d) this.#sawShortLine = true;
    const bytes = decodeBase64Bytes(line, true);
    if (!bytes) fail('not canonical base64');
    if (bytes.length > 0) sink(bytes);
  }

  write(data: Uint8Array, sink: Sink): void {
    for (let i = 0; i < data.length; i++) {
      const c = data[i] as number;
      switch (this.#state) {
        case 'leading':
          if (isSpace(c)) continue;
          this.#state = 'begin';
          break;
        case 'trailing':
          if (!isSpace(c)) fail('data after the END line');
          continue;
        default:
          break;
      }
      if (c === LF) {
        this.#onLine(sink);
        continue;
      }
      if (this.#lineLength === this.#line.length) fail('line too long');
      this.#line[this.#lineLength++] = c;
    }
  }

  end(sink: Sink): void {
    if (this.#state === 'body' && this.#lineLength > 0) {
      // the END line may lack its final newline
      const len = this.#lineLength;
      if (equals(this.#line.subarray(0, len), END_BYTES)) {
        this.#state = 'trailing';
        this.#lineLength = 0;
      }
    }
    if (this.#state !== 'trailing') fail('missing END line');
    void sink;
  }
}

function equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Does `bytes` (the start of a file) look like ASCII armor rather than binary age? */
export function looksArmored(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && isSpace(bytes[i] as number)) i++;
  return bytes[i] === 0x2d;
}

/** Armors a whole byte array. */
export function armor(data: Uint8Array): string {
  const encoder = new ArmorEncoder();
  let text = '';
  const decoder = new TextDecoder();
  const sink = (p: Uint8Array) => {
    text += decoder.decode(p);
  };
  encoder.write(data, sink);
  encoder.end(sink);
  return text;
}

/**
 * Decodes a whole armored text.
 * @throws InvalidArmorError if it is not strictly valid armor.
 */
export function dearmor(text: string | Uint8Array): Uint8Array {
  const decoder = new ArmorDecoder();
  const parts: Uint8Array[] = [];
  const sink = (p: Uint8Array) => parts.push(p);
  decoder.write(typeof text === 'string' ? utf8(text) : text, sink);
  decoder.end(sink);
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}
