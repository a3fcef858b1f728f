import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobIdFromDigest } from '@carekey/sdk/blobs';
import { decryptPayload } from '@carekey/sdk/crypto';
import { fileRecordUri } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTestDicom } from '../../../sdk/src/fhir/node/testing/writeDicom.ts';
import { PortalError } from './errors.ts';
import { prepareFile, sniffFile } from './fileImport.ts';

// The portal's DICOM and PDF import before anything is sent (lib/fileImport.ts): sniffing, the metadata, the
// streamed encryption into a Blob and the validated describing record, on the real NEMA CT slice and the PDF
// printed by Chromium (packages/sdk/src/fhir/testdata/files), and every refusal in plain words. The upload and
// publish run against a real node in the browser (e2e/fileImport.spec.ts).
const FILES = join(import.meta.dirname, '../../../sdk/src/fhir/testdata/files');
const definitions = { sources: nodeR4DefinitionSources };
const fileOf = (bytes: Uint8Array, name: string) => new File([bytes as BlobPart], name);
const real = (name: string) => fileOf(new Uint8Array(readFileSync(join(FILES, name))), name);
const sha = (algorithm: string, bytes: Uint8Array, encoding: 'hex' | 'base64') =>
  createHash(algorithm).update(bytes).digest(encoding);
let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function plaintextOf(prepared: { payload: Blob; fileKey: Uint8Array; cid: string }) {
  const payload = new Uint8Array(await prepared.payload.arrayBuffer());
  expect(blobIdFromDigest(createHash('sha256').update(payload).digest()).id).toBe(prepared.cid);
  // Compared by hash: vitest's deep equality walks a 12 MiB array element by element.
  return sha('sha256', decryptPayload({ fileKey: prepared.fileKey, payload }), 'hex');
}

describe('DICOM and PDF import in the portal, before anything is sent', () => {
  it('R-14: the NEMA CT slice becomes a valid ImagingStudy (study date, modality, body site) and a payload that decrypts to it', async () => {
    const ct = real('CT_small.dcm');
    expect(await sniffFile(ct)).toBe('dicom');
    const progress: [number, number][] = [];
    const prepared = await prepareFile(ct, {
      kind: 'dicom',
      custodian: 'did:ethr:0x7a69:0x0000000000000000000000000000000000000001',
      definitions,
      onProgress: (done, total) => progress.push([done, total]),
    });
    const bytes = new Uint8Array(readFileSync(join(FILES, 'CT_small.dcm')));
    expect(prepared).toMatchObject({ kind: 'dicom', contentType: 'application/dicom', size: bytes.length });
    expect(prepared.sha256).toBe(sha('sha256', bytes, 'hex'));
    expect(prepared.record.resource).toMatchObject({
      resourceType: 'ImagingStudy',
      started: '2004-01-19',
      modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }],
      meta: { source: 'did:ethr:0x7a69:0x0000000000000000000000000000000000000001' },
    });
    expect(prepared.record.category).toMatch(/^ImagingStudy/u);
    const attachment = (
      prepared.record.resource as unknown as { extension: { valueAttachment: Record<string, unknown> }[] }
    ).extension[0]?.valueAttachment;
    expect(attachment).toMatchObject({
      contentType: 'application/dicom',
      url: fileRecordUri(prepared.fileRecordId),
      size: bytes.length,
      hash: sha('sha1', bytes, 'base64'),
    });
    expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
    expect(await plaintextOf(prepared)).toBe(sha('sha256', bytes, 'hex'));
  });

  it('R-14: the Chromium PDF becomes a DocumentReference with its own title and creation date', async () => {
    const pdf = real('discharge-letter.pdf');
    expect(await sniffFile(pdf)).toBe('pdf');
    const prepared = await prepareFile(pdf, { kind: 'pdf', definitions });
    const bytes = new Uint8Array(readFileSync(join(FILES, 'discharge-letter.pdf')));
    expect(prepared.record.resource).toMatchObject({
      resourceType: 'DocumentReference',
      id: sha('sha256', bytes, 'hex'),
      status: 'current',
      content: [
        { attachment: { contentType: 'application/pdf', url: fileRecordUri(prepared.fileRecordId) } },
      ],
    });
    const attachment = (
      prepared.record.resource as unknown as {
        content: { attachment: { title?: string; creation?: string } }[];
      }
    ).content[0]?.attachment;
    expect(attachment?.title).toBeTruthy();
    expect(attachment?.title).not.toBe('discharge-letter.pdf'); // the PDF's own title, from its Info dictionary
    expect(Number.isNaN(Date.parse(attachment?.creation ?? ''))).toBe(false);
    expect(await plaintextOf(prepared)).toBe(sha('sha256', bytes, 'hex'));
  });

  it('F-11: a 12 MiB DICOM is encrypted as it streams (progress all along), and decrypts byte for byte', async () => {
    dir = await mkdtemp(join(tmpdir(), 'carekey-web-file-import-'));
    const file = join(dir, 'big.dcm');
    await writeTestDicom(file, { pixelBytes: 12 * 1024 * 1024, attributes: { bodyPartExamined: 'CHEST' } });
    const bytes = new Uint8Array(await readFile(file));
    const progress: number[] = [];
    const prepared = await prepareFile(fileOf(bytes, 'big.dcm'), {
      kind: 'dicom',
      definitions,
      onProgress: (done) => progress.push(done),
    });
    // Read and encrypted 4 MiB at a time, reported after each piece.
    expect(progress.filter((done) => done > 0 && done < bytes.length).length).toBe(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(bytes.length);
    expect(prepared.record.resource).toMatchObject({ series: [{ bodySite: { code: 'CHEST' } }] });
    expect(prepared.payload.size).toBeGreaterThan(bytes.length); // nonce + a 16-byte tag per 64 KiB chunk
    expect(await plaintextOf(prepared)).toBe(sha('sha256', bytes, 'hex'));
  });

  it('T-19: non-DICOM data named .dcm, a text file named .pdf, a corrupt PDF and a file too large are refused in plain words', async () => {
    const refusal = async (run: () => Promise<unknown>) => {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PortalError);
      return (error as Error).message;
    };
    const text = new TextEncoder().encode('{"resourceType":"Patient"} but named as a scan'.repeat(10));
    expect(await refusal(() => sniffFile(fileOf(text, 'scan.dcm')))).toBe(
      'This is not a DICOM image the portal can read: scan.dcm is not a DICOM file: no "DICM" marker at byte 128. Nothing was imported.',
    );
    expect(await refusal(() => sniffFile(fileOf(text, 'letter.pdf')))).toBe(
      'This PDF cannot be read: letter.pdf is not a PDF file: no "%PDF-" header. Nothing was imported.',
    );
    // DICM at 128 but no header after it.
    const hollow = new Uint8Array(200);
    hollow.set(new TextEncoder().encode('DICM'), 128);
    expect(await sniffFile(fileOf(hollow, 'hollow.dcm'))).toBe('dicom');
    expect(
      await refusal(() => prepareFile(fileOf(hollow, 'hollow.dcm'), { kind: 'dicom', definitions })),
    ).toMatch(/^This is not a DICOM image the portal can read: .+\. Nothing was imported\.$/u);
    const corrupt = new TextEncoder().encode('%PDF-1.7\n1 0 obj << /Type /Catalog');
    expect(await sniffFile(fileOf(corrupt, 'letter.pdf'))).toBe('pdf');
    expect(
      await refusal(() => prepareFile(fileOf(corrupt, 'letter.pdf'), { kind: 'pdf', definitions })),
    ).toMatch(/^This PDF cannot be read: malformed PDF: .+\. Nothing was imported\.$/u);
    expect(
      await refusal(() =>
        prepareFile(real('CT_small.dcm'), { kind: 'dicom', definitions, maxBytes: 30_000 }),
      ),
    ).toBe('CT_small.dcm is 39.2 kB: the portal imports files up to 30.0 kB. Nothing was imported.');
    // A file that is neither goes to the FHIR import, which has its own refusals.
    expect(await sniffFile(fileOf(text, 'notes.json'))).toBeUndefined();
  });
});
