import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '@carekey/sdk/fhir';
import { CliError } from '../../io/CliError.ts';

/**
 * # Files in a Bulk Data export: `Binary.ndjson`
 *
 * A file record (DICOM, PDF: docs/fhir.md "Files") is exported as a FHIR `Binary` resource, one NDJSON line, in
 * canonical JSON (RFC 8785: keys sorted):
 *
 * ```json
 * {"contentType":"application/dicom","data":"<base64 of the file>","id":"<record id without 0x>","resourceType":"Binary"}
 * ```
 *
 * The id is the file record's id (64 hex digits, a valid FHIR id), so the describing `DocumentReference` /
 * `ImagingStudy` — whose attachment `url` is `urn:carekey:record:0x<id>` — resolves unchanged, and keeps its hash.
 * Since `data` comes before `id` in canonical order, a line is written and read as a stream, whatever the file's
 * size: the writer base64-encodes the decrypted pieces as they come, the reader decodes into a file as it reads.
 */

/** Most bytes of a Binary line around its data (`{"contentType":…,"data":"` and `","id":…}`). */
const MAX_FRAME = 1024;
const PREFIX = /^\{"contentType":("(?:[^"\\\r\n]|\\.){1,200}"),"data":"$/u;
const SUFFIX = /^","id":"([0-9a-f]{64})","resourceType":"Binary"\}$/u;
const BASE64_BODY = /^[A-Za-z0-9+/]*$/u;
const BASE64_LAST = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u;
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * One `Binary.ndjson` line for a file, streamed: `pieces` are the file's plaintext bytes in order.
 * @example for await (const text of binaryNdjsonLine({ id, contentType: 'application/pdf', pieces })) res.write(text);
 */
export async function* binaryNdjsonLine(parameters: {
  id: string;
  contentType: string;
  pieces: AsyncIterable<Uint8Array>;
}): AsyncGenerator<string> {
  yield `{"contentType":${canonicalJson(parameters.contentType)},"data":"`;
  let rest: Buffer = Buffer.alloc(0);
  for await (const piece of parameters.pieces) {
    const bytes = rest.length === 0 ? Buffer.from(piece) : Buffer.concat([rest, piece]);
    const whole = bytes.length - (bytes.length % 3);
    if (whole > 0) yield bytes.subarray(0, whole).toString('base64');
    // Copied: the caller may reuse the piece's memory.
    rest = Buffer.from(bytes.subarray(whole));
  }
  if (rest.length > 0) yield rest.toString('base64');
  yield `","id":${canonicalJson(parameters.id)},"resourceType":"Binary"}\n`;
}

/** A file read back from `Binary.ndjson`, decoded into `file`. */
export type ExportedBinary = {
  /** The Binary's id (the file record id without 0x). */
  id: string;
  contentType: string;
  /** 1-based line in Binary.ndjson. */
  line: number;
  /** Where the decoded bytes were written. */
  file: string;
  size: number;
  /** Lowercase hex SHA-256 of the decoded bytes (the file record's hash). */
  sha256: string;
  /** Base64 SHA-1 of the decoded bytes (R4 `Attachment.hash`). */
  sha1Base64: string;
};

/** What {@link readBinaryNdjson} found: file lines (decoded to disk) and other Binary lines (JSON text). */
export type ReadBinaryNdjsonReturnType = {
  files: ExportedBinary[];
  /** Lines that are not a file record's Binary (e.g. a Binary with `meta`, from another server): parse as FHIR. */
  json: { line: number; text: string }[];
};

/** Largest Binary line kept as JSON text (the one that is not a file record's). */
export const MAX_JSON_BINARY_LINE = 64 * 1024 * 1024;
const START = Buffer.from('{"contentType":');

/**
 * Reads a `Binary.ndjson`, streaming: a line written by {@link binaryNdjsonLine} has its data base64-decoded into
 * `<dir>/<id>.bin` (constant memory whatever the file's size) and hashed on the way; any other line (a Binary with
 * more elements, or keys in another order) is returned as JSON text, up to {@link MAX_JSON_BINARY_LINE}.
 *
 * @throws CliError naming the line when data is not base64, a line is cut short or too long, or an id appears twice.
 */
export async function readBinaryNdjson(parameters: {
  input: string;
  dir: string;
  /** Bytes per read (default 4 MiB; tests use small ones to cut lines anywhere). */
  readSize?: number;
}): Promise<ReadBinaryNdjsonReturnType> {
  const name = 'Binary.ndjson';
  const files: ExportedBinary[] = [];
  const json: { line: number; text: string }[] = [];
  let line = 1;
  let frame: number[] = [];
  let raw: Buffer[] = [];
  let rawSize = 0;
  type State = 'prefix' | 'data' | 'suffix' | 'raw';
  // Changed inside the helpers below too: typed wide so the loop's checks are not narrowed away.
  let state = 'prefix' as State;
  let prefixText = '';
  let contentType = '';
  let pending = '';
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let file = '';
  let size = 0;
  let sha256 = createHash('sha256');
  let sha1 = createHash('sha1');
  const fail = (why: string): never => {
    throw new CliError(`${name} line ${line}: ${why}`, {
      hint: 'each line is one FHIR Binary; a file is {"contentType","data","id","resourceType":"Binary"}, as a Carekey gateway exports it',
    });
  };
  const decode = async (text: string, last: boolean) => {
    pending += text;
    // The last group may hold padding: kept back until the closing quote is seen.
    const take = last ? pending.length : Math.max(0, pending.length - (pending.length % 4) - 4);
    if (take === 0 && !last) return;
    const chunk = pending.slice(0, take);
    pending = pending.slice(take);
    if (!(last ? BASE64_LAST : BASE64_BODY).test(chunk)) fail('its data is not base64');
    const bytes = Buffer.from(chunk, 'base64');
    sha256.update(bytes);
    sha1.update(bytes);
    size += bytes.length;
    await handle?.write(bytes);
  };
  const next = () => {
    frame = [];
    raw = [];
    rawSize = 0;
    state = 'prefix' as State;
    line++;
  };
  const endRaw = () => {
    const text = Buffer.concat(raw).toString('utf8');
    if (text.trim().length > 0) json.push({ line, text });
    next();
  };
  const endFileLine = async () => {
    await handle?.close();
    handle = undefined;
    const suffix = Buffer.from(frame).toString('utf8');
    const m = SUFFIX.exec(suffix);
    if (m === null) {
      // A Binary with more than a file record's elements: kept as JSON, rebuilt from what was decoded.
      if (size > (MAX_JSON_BINARY_LINE * 3) / 4)
        fail(`a Binary with other elements is over ${MAX_JSON_BINARY_LINE} bytes`);
      const data = (await readFile(file)).toString('base64');
      await rm(file, { force: true });
      json.push({ line, text: `${prefixText}${data}${suffix}` });
      next();
      return;
    }
    const id = m[1] as string;
    if (files.some((b) => b.id === id)) fail(`Binary/${id} appears twice in the export`);
    const target = join(parameters.dir, `${id}.bin`);
    await rename(file, target);
    files.push({
      id,
      contentType,
      line,
      file: target,
      size,
      sha256: sha256.digest('hex'),
      sha1Base64: sha1.digest('base64'),
    });
    next();
  };
  const startData = async () => {
    prefixText = Buffer.from(frame).toString('utf8');
    const m = PREFIX.exec(prefixText);
    let parsed: unknown;
    try {
      parsed = m === null ? undefined : JSON.parse(m[1] as string);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'string' || !/^[a-z]+\/[a-z0-9.+-]{1,100}$/u.test(parsed)) {
      fail('its contentType is not a MIME type');
    }
    contentType = parsed as string;
    file = join(parameters.dir, `.line-${line}.partial`);
    handle = await open(file, 'w', 0o600);
    size = 0;
    sha256 = createHash('sha256');
    sha1 = createHash('sha1');
    pending = '';
    state = 'data';
  };
  try {
    for await (const piece of createReadStream(parameters.input, {
      highWaterMark: parameters.readSize ?? 4 * 1024 * 1024,
    })) {
      const bytes = piece as Buffer;
      let i = 0;
      while (i < bytes.length) {
        if (state === 'data') {
          const quote = bytes.indexOf(QUOTE, i);
          const end = quote < 0 ? bytes.length : quote;
          await decode(bytes.toString('latin1', i, end), quote >= 0);
          i = end;
          if (quote >= 0) {
            state = 'suffix';
            frame = [];
          }
          continue;
        }
        if (state === 'raw') {
          const newline = bytes.indexOf(NEWLINE, i);
          const end = newline < 0 ? bytes.length : newline;
          raw.push(Buffer.from(bytes.subarray(i, end)));
          rawSize += end - i;
          if (rawSize > MAX_JSON_BINARY_LINE) fail(`a Binary line is over ${MAX_JSON_BINARY_LINE} bytes`);
          i = newline < 0 ? bytes.length : newline + 1;
          if (newline >= 0) endRaw();
          continue;
        }
        const byte = bytes[i] as number;
        i++;
        if (state === 'prefix') {
          if (byte === NEWLINE) {
            raw = [Buffer.from(frame)];
            endRaw();
            continue;
          }
          frame.push(byte);
          const at = frame.length - 1;
          if ((at < START.length && START[at] !== byte) || frame.length > MAX_FRAME) {
            // Not a file record's Binary: the whole line is JSON text.
            raw = [Buffer.from(frame)];
            rawSize = frame.length;
            frame = [];
            state = 'raw';
          } else if (
            byte === QUOTE &&
            frame.length > 24 &&
            Buffer.from(frame.slice(-9)).toString() === ',"data":"'
          ) {
            await startData();
            frame = [];
          }
        } else {
          // suffix: up to the end of the line
          if (byte === NEWLINE) {
            if (frame.at(-1) === 0x0d) frame.pop();
            await endFileLine();
            continue;
          }
          frame.push(byte);
          if (frame.length > MAX_FRAME) fail('it does not end with the id and "resourceType":"Binary"');
        }
      }
    }
    if (state === 'suffix') await endFileLine();
    else if (state === 'data') fail('the line is cut short');
    else if (state === 'raw') endRaw();
    else if (frame.length > 0) {
      raw = [Buffer.from(frame)];
      endRaw();
    }
  } finally {
    await handle?.close();
  }
  return { files, json };
}
