import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../crypto/node/index.ts';
import { decryptPayload } from '../../crypto/payload.ts';
import { FhirImportError } from '../../errors/fhir.ts';
import { dicomDate, readDicomHeader } from '../dicom.ts';
import { FILE_ATTACHMENT_EXTENSION, recordIdOfAttachment } from '../fileResources.ts';
import { loadR4Definitions } from '../loadR4Definitions.ts';
import { prepareFileImport, sniffFileKind } from './importFile.ts';
import { nodeR4DefinitionSources } from './nodeR4DefinitionSources.ts';
import { dicomHeaderBytes, writeTestDicom } from './testing/writeDicom.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'carekey-import-file-'));
const RECORD = `0x${'ab'.repeat(32)}`;
const CUSTODIAN = 'did:ethr:0x7a69:0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
beforeAll(async () => {
  await loadR4Definitions({ sources: nodeR4DefinitionSources });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DICOM (dicom-parser)', () => {
  it('reads study date, modality, body site and UIDs into a valid ImagingStudy; the 8 MB file is streamed', async () => {
    const file = path.join(dir, 'scan.dcm');
    const size = await writeTestDicom(file, { pixelBytes: 8 * 1024 * 1024 });
    const payloadOutput = path.join(dir, 'scan.payload');
    const prepared = await prepareFileImport({
      file,
      fileRecordId: RECORD,
      payloadOutput,
      custodian: CUSTODIAN,
    });
    expect(prepared.kind).toBe('dicom');
    expect(prepared.size).toBe(size);
    const plain = readFileSync(file);
    expect(prepared.sha256).toBe(createHash('sha256').update(plain).digest('hex'));
    const study = prepared.record.resource as unknown as Record<string, unknown> & {
      series: {
        uid: string;
        modality: { code: string };
        bodySite: { code: string };
        instance: { uid: string }[];
      }[];
      extension: {
        url: string;
        valueAttachment: { url: string; size: number; contentType: string; hash: string };
      }[];
    };
    expect(prepared.record.resourceType).toBe('ImagingStudy');
    expect(study).toMatchObject({
      status: 'available',
      started: '2024-03-05',
      identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.826.0.1.3680043.8.498.1' }],
      modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }],
      description: 'CT chest without contrast',
      subject: { identifier: { value: 'MRN-0001' }, display: 'Doe Jane' },
      meta: { source: CUSTODIAN },
    });
    expect(study.series[0]).toMatchObject({
      uid: '1.2.826.0.1.3680043.8.498.1.1',
      bodySite: { code: 'CHEST' },
      instance: [{ uid: '1.2.826.0.1.3680043.8.498.1.1.1' }],
    });
    const attachment = study.extension.find((e) => e.url === FILE_ATTACHMENT_EXTENSION)?.valueAttachment;
    expect(attachment).toMatchObject({ contentType: 'application/dicom', size });
    expect(attachment?.hash).toBe(createHash('sha1').update(plain).digest('base64'));
    expect(recordIdOfAttachment(attachment?.url)).toBe(RECORD);
    expect(prepared.record.clinicalDate).toBe('2024-03-05');
    // the payload is the age STREAM of the file: decrypts to the same bytes, and hashes as reported
    const payload = readFileSync(payloadOutput);
    expect(createHash('sha256').update(payload).digest()).toEqual(Buffer.from(prepared.payloadSha256));
    expect(Buffer.from(decryptPayload({ fileKey: prepared.fileKey, payload })).equals(plain)).toBe(true);
  }, 120_000);

  it('refuses non-DICOM data named .dcm, and a DICOM header without its UIDs, leaving no payload', async () => {
    const fake = path.join(dir, 'fake.dcm');
    writeFileSync(fake, '{"resourceType":"Patient"}');
    const before = readdirSync(dir).length;
    const error = await prepareFileImport({
      file: fake,
      fileRecordId: RECORD,
      payloadOutput: path.join(dir, 'fake.payload'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirImportError);
    expect((error as Error).message).toBe(
      'fake.dcm is not a DICOM file: no "DICM" marker at byte 128 (DICOM Part 10)',
    );
    expect(readdirSync(dir).length).toBe(before);

    const noUid = dicomHeaderBytes({ studyInstanceUid: 'not a uid' }, 0);
    expect(() => readDicomHeader(noUid)).toThrow(/the DICOM Study Instance UID is not a UID: "not a uid"/u);
    const truncated = dicomHeaderBytes({}, 0).subarray(0, 300);
    expect(() => readDicomHeader(truncated)).toThrow(FhirImportError);
  });

  it('keeps only real DICOM dates', () => {
    expect(dicomDate('20240229')).toBe('2024-02-29');
    expect(dicomDate('20230229')).toBeUndefined();
    expect(dicomDate('2024')).toBeUndefined();
  });
});

describe('PDF (pdf-lib)', () => {
  it('becomes a DocumentReference with content type, size, SHA-1, title and creation date', async () => {
    const document = await PDFDocument.create();
    document.setTitle('Discharge summary');
    document.setCreationDate(new Date('2025-01-02T03:04:05Z'));
    const page = document.addPage();
    page.drawText('Discharged in good health.', { font: await document.embedFont(StandardFonts.Helvetica) });
    const bytes = await document.save();
    const file = path.join(dir, 'report.pdf');
    writeFileSync(file, bytes);
    const prepared = await prepareFileImport({
      file,
      fileRecordId: RECORD,
      payloadOutput: path.join(dir, 'report.payload'),
      custodian: CUSTODIAN,
    });
    expect(prepared.kind).toBe('pdf');
    expect(prepared.record.resourceType).toBe('DocumentReference');
    expect(prepared.record.resource).toMatchObject({
      status: 'current',
      description: 'Discharge summary',
      content: [
        {
          attachment: {
            contentType: 'application/pdf',
            size: bytes.length,
            hash: createHash('sha1').update(bytes).digest('base64'),
            title: 'Discharge summary',
            creation: '2025-01-02T03:04:05.000Z',
            url: `urn:carekey:record:${RECORD}`,
          },
        },
      ],
    });
  });

  it('refuses a .pdf that is not one, and a damaged PDF, with one clear line', async () => {
    const notPdf = path.join(dir, 'notes.pdf');
    writeFileSync(notPdf, 'just text');
    await expect(sniffFileKind(notPdf)).rejects.toThrow('notes.pdf is not a PDF file: no "%PDF-" header');
    const damaged = path.join(dir, 'damaged.pdf');
    writeFileSync(damaged, '%PDF-1.7\n1 0 obj << /Type /Catalog');
    const error = await prepareFileImport({
      file: damaged,
      fileRecordId: RECORD,
      payloadOutput: path.join(dir, 'damaged.payload'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirImportError);
    expect((error as Error).message).toMatch(/^malformed PDF: /u);
    expect(readdirSync(dir)).not.toContain('damaged.payload');
  });
});
