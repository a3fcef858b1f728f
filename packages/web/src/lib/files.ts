import {
  decodeStanza,
  decryptPayload,
  type Identity,
  PayloadDecryptor,
  unwrapFileKey,
} from '@carekey/sdk/crypto';
import { FILE_ATTACHMENT_EXTENSION, recordIdOfAttachment } from '@carekey/sdk/fhir';
import type { Hex } from 'viem';
import { PortalError } from './errors.ts';
import type { PortalRecord, Resource } from './records.ts';
import type { Session } from './session.ts';

/** The file a resource describes (a scan, a PDF): stored as a record of its own (docs/fhir.md §10). */
export type FileRef = {
  recordId: Hex;
  contentType: string;
  /** Plaintext bytes, as the attachment says. */
  size: number | undefined;
  title: string | undefined;
};

type Attachment = { url?: string; contentType?: string; size?: number; title?: string };

/**
 * The file record a `DocumentReference` (`content[0].attachment`) or an `ImagingStudy` (the file-attachment
 * extension) points to with `urn:carekey:record:<id>`, if any.
 */
export function fileRefOf(resource: Resource): FileRef | undefined {
  let attachment: Attachment | undefined;
  if (resource.resourceType === 'DocumentReference') {
    attachment = (resource.content as { attachment?: Attachment }[] | undefined)?.[0]?.attachment;
  } else {
    const ext = (resource.extension as { url?: string; valueAttachment?: Attachment }[] | undefined)?.find(
      (e) => e.url === FILE_ATTACHMENT_EXTENSION,
    );
    attachment = ext?.valueAttachment;
  }
  const recordId = recordIdOfAttachment(attachment?.url);
  if (attachment === undefined || recordId === undefined) return undefined;
  return {
    recordId: recordId as Hex,
    contentType: attachment.contentType ?? 'application/octet-stream',
    size: attachment.size,
    title: attachment.title,
  };
}

/** "24.0 MB" */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return 'size unknown';
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'application/dicom': 'dcm',
  'image/jpeg': 'jpg',
  'image/png': 'png',
};

/** What a person calls a content type. */
export function fileKind(contentType: string): string {
  if (contentType === 'application/pdf') return 'PDF';
  if (contentType === 'application/dicom') return 'DICOM image';
  return contentType;
}

/** The file name offered when saving: the title when there is one, else the record, with its extension. */
export function suggestedName(ref: FileRef): string {
  const base = (ref.title ?? `carekey-${ref.recordId.slice(2, 14)}`)
    .replace(/[^\p{L}\p{N} ._-]+/gu, '_')
    .slice(0, 80);
  const ext = EXTENSIONS[ref.contentType];
  return ext === undefined || base.toLowerCase().endsWith(`.${ext}`) ? base : `${base}.${ext}`;
}

/** A decrypting stream of one payload (age STREAM: each 64 KiB chunk released only once its tag verifies). */
export function decryptingStream(fileKey: Uint8Array): TransformStream<Uint8Array, Uint8Array> {
  const decryptor = new PayloadDecryptor(fileKey);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      decryptor.write(chunk, (part) => controller.enqueue(part));
    },
    flush(controller) {
      decryptor.end((part) => controller.enqueue(part));
      fileKey.fill(0);
    },
  });
}

/** Counts the bytes passing, for progress. */
function counting(onBytes: (n: number) => void): TransformStream<Uint8Array, Uint8Array> {
  let n = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      n += chunk.length;
      onBytes(n);
      controller.enqueue(chunk);
    },
  });
}

/** Where a decrypted file goes: a file the person picked (File System Access), or a download. */
export type FileTarget =
  | { kind: 'picked'; writable: WritableStream<Uint8Array> }
  | { kind: 'download'; name: string };

type SaveFilePicker = (options: { suggestedName: string }) => Promise<{
  createWritable(): Promise<WritableStream<Uint8Array>>;
}>;

/**
 * Asks where to save (File System Access's save dialog where the browser has it, else a download). Call it first
 * in the click handler: the dialog needs the click's user activation. `undefined` when the person cancels.
 */
export async function chooseTarget(ref: FileRef): Promise<FileTarget | undefined> {
  const picker = (globalThis as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
  const name = suggestedName(ref);
  if (picker === undefined) return { kind: 'download', name };
  try {
    const handle = await picker({ suggestedName: name });
    return { kind: 'picked', writable: await handle.createWritable() };
  } catch (error) {
    if ((error as { name?: string }).name === 'AbortError') return undefined;
    throw error;
  }
}

export type SaveResult = { bytes: number; seconds: number; how: FileTarget['kind'] };

/**
 * Decrypts a file record streamed from the node into `target`, never holding the whole file: the payload is fetched
 * as a stream (hashed on the way, checked against its CID at the end), decrypted chunk by chunk with the SDK's age
 * STREAM reader, and written as it comes — to the picked file (kept only if everything checked: a failure aborts
 * the writable, which discards it), or, without File System Access, into a Blob made of the decrypted chunks
 * (the browser keeps Blob data outside the page's memory and may page it to disk) offered as a download.
 */
export async function saveFile(
  session: Session,
  parameters: {
    ref: FileRef;
    record: PortalRecord | undefined;
    target: FileTarget;
    onProgress?: (done: number, total: number | undefined) => void;
  },
): Promise<SaveResult> {
  const { ref, record, target } = parameters;
  const abortPicked = () => (target.kind === 'picked' ? target.writable.abort().catch(() => {}) : undefined);
  if (record?.stanza === undefined || record.state !== 'active') {
    await abortPicked();
    throw new PortalError(
      'This file is not readable here: it was forgotten, or it was not shared with this wallet. Nothing was saved.',
    );
  }
  const started = performance.now();
  let fileKey: Uint8Array;
  let stream: ReadableStream<Uint8Array>;
  let size: number | undefined;
  try {
    fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(record.stanza)],
      identities: [session.keys.identity],
    });
    const blob = await session.node.openBlob(record.blobId);
    size = blob.size;
    stream = blob.stream();
  } catch (error) {
    await abortPicked();
    throw error;
  }
  let plain = 0;
  const decrypted = stream
    .pipeThrough(counting((n) => parameters.onProgress?.(n, size)))
    .pipeThrough(decryptingStream(fileKey))
    .pipeThrough(
      counting((n) => {
        plain = n;
      }),
    );
  if (target.kind === 'picked') {
    await decrypted.pipeTo(target.writable); // an error aborts the writable: the half-written file is discarded
  } else {
    const parts: Uint8Array[] = [];
    const reader = decrypted.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: ref.contentType }));
    parts.length = 0;
    const a = document.createElement('a');
    a.href = url;
    a.download = target.name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  return { bytes: plain, seconds: (performance.now() - started) / 1000, how: target.kind };
}

/** Payloads up to this size are read whole when a record is opened (every FHIR record); larger ones streamed. */
const WHOLE_BELOW = 4 * 1024 * 1024;

/** What a payload turned out to be when opened: a FHIR resource, or a file (a file record's bytes). */
export type OpenedPayload = { resource: Resource } | { file: { contentType: string } };

function sniff(head: Uint8Array): string {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 1024));
  if (text.includes('%PDF-')) return 'application/pdf';
  if (head.length >= 132 && text.slice(128, 132) === 'DICM') return 'application/dicom';
  return 'application/octet-stream';
}

/**
 * Opens a record's payload: one of up to 4 MiB (every FHIR record) is read whole, decrypted and parsed; a larger one
 * is streamed, and a file record (a scan, a PDF: its first decrypted chunk is not JSON) is recognised from that
 * chunk and its download stopped there, so a sync never pulls gigabytes into memory. The file itself is read later,
 * streamed, by {@link saveFile}.
 */
export async function openRecordPayload(
  session: Session,
  parameters: { stanza: string; blobId: string; identity?: Identity },
): Promise<OpenedPayload> {
  const fileKey = await unwrapFileKey({
    stanzas: [decodeStanza(parameters.stanza)],
    identities: [parameters.identity ?? session.keys.identity],
  });
  try {
    const blob = await session.node.openBlob(parameters.blobId);
    if (blob.size !== undefined && blob.size <= WHOLE_BELOW) {
      // A FHIR record (or a small file): read whole, as it is small.
      const plaintext = decryptPayload({ fileKey, payload: await blob.bytes() });
      if (!looksLikeJson(plaintext)) return { file: { contentType: sniff(plaintext) } };
      return {
        resource: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)) as Resource,
      };
    }
    const reader = blob.stream().getReader();
    const decryptor = new PayloadDecryptor(fileKey);
    const parts: Uint8Array[] = [];
    let length = 0;
    let sniffed = false;
    const sink = (part: Uint8Array) => {
      parts.push(part);
      length += part.length;
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      decryptor.write(value, sink);
      const first = parts[0];
      if (first !== undefined && !sniffed) {
        sniffed = true;
        if (!looksLikeJson(first)) {
          await reader.cancel();
          return { file: { contentType: sniff(first) } };
        }
      }
    }
    decryptor.end(sink);
    const whole = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.length;
    }
    if (!looksLikeJson(whole)) return { file: { contentType: sniff(whole) } };
    return { resource: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(whole)) as Resource };
  } finally {
    fileKey.fill(0);
  }
}

/** Whether plaintext starts like a JSON object (after whitespace or a BOM). */
function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf)
      continue;
    return b === 0x7b;
  }
  return false;
}
