import { encryptPayload } from '@carekey/sdk/crypto';
import { FILE_ATTACHMENT_EXTENSION, fileRecordUri } from '@carekey/sdk/fhir';
import { describe, expect, it } from 'vitest';
import { decryptingStream, fileRefOf, formatBytes, suggestedName } from './files.ts';

const ID = `0x${'ab'.repeat(32)}`;

/** Pushes `payload` through the decrypting stream in pieces of `piece` bytes; returns the plaintext. */
async function decryptInPieces(fileKey: Uint8Array, payload: Uint8Array, piece: number): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < payload.length; i += piece) controller.enqueue(payload.slice(i, i + piece));
      controller.close();
    },
  });
  const parts: Uint8Array[] = [];
  const reader = source.pipeThrough(decryptingStream(fileKey)).getReader();
  let largest = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    largest = Math.max(largest, value.length);
    parts.push(value);
  }
  expect(largest).toBeLessThanOrEqual(65_536); // released chunk by chunk, never whole
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('file records in the portal', () => {
  it('finds the file a DocumentReference or an ImagingStudy describes', () => {
    const attachment = {
      contentType: 'application/pdf',
      url: fileRecordUri(ID),
      size: 16_777_216,
      title: 'Chest CT report',
    };
    expect(fileRefOf({ resourceType: 'DocumentReference', content: [{ attachment }] })).toEqual({
      recordId: ID,
      contentType: 'application/pdf',
      size: 16_777_216,
      title: 'Chest CT report',
    });
    expect(
      fileRefOf({
        resourceType: 'ImagingStudy',
        extension: [
          {
            url: FILE_ATTACHMENT_EXTENSION,
            valueAttachment: { ...attachment, contentType: 'application/dicom', title: undefined },
          },
        ],
      }),
    ).toMatchObject({ recordId: ID, contentType: 'application/dicom' });
    // A link elsewhere, or none, is no file record.
    expect(
      fileRefOf({ resourceType: 'DocumentReference', content: [{ attachment: { url: 'https://x/y.pdf' } }] }),
    ).toBeUndefined();
    expect(fileRefOf({ resourceType: 'Observation' })).toBeUndefined();
  });

  it('names the saved file from its title, safely, with its extension', () => {
    const ref = {
      recordId: ID as `0x${string}`,
      contentType: 'application/pdf',
      size: 1,
      title: 'a/b\\c:report',
    };
    expect(suggestedName(ref)).toBe('a_b_c_report.pdf');
    expect(suggestedName({ ...ref, title: 'scan.pdf' })).toBe('scan.pdf');
    expect(suggestedName({ ...ref, contentType: 'application/dicom', title: undefined })).toBe(
      `carekey-${'ab'.repeat(6)}.dcm`,
    );
    expect(formatBytes(16_777_216)).toBe('16.8 MB');
    expect(formatBytes(undefined)).toBe('size unknown');
  });

  it('T-13: decrypts a multi-chunk payload streamed, in any piece size; a tampered or truncated one fails', async () => {
    const plaintext = new Uint8Array(140_000).map((_, i) => (i * 7919) % 251);
    const { fileKey, payload } = encryptPayload({ plaintext });
    for (const piece of [8_192, 65_552, 150_000]) {
      expect(Buffer.from(await decryptInPieces(fileKey.slice(), payload, piece)).equals(plaintext)).toBe(
        true,
      );
    }
    const tampered = payload.slice();
    tampered[70_000] = (tampered[70_000] as number) ^ 1;
    await expect(decryptInPieces(fileKey.slice(), tampered, 4096)).rejects.toThrow();
    await expect(
      decryptInPieces(fileKey.slice(), payload.subarray(0, payload.length - 10), 4096),
    ).rejects.toThrow();
  });
});
