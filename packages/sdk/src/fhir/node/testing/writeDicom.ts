import { open } from 'node:fs/promises';

/** Attributes of the test DICOM file (PS3.6 keywords). */
export type TestDicomAttributes = {
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  studyDate?: string;
  studyTime?: string;
  modality?: string;
  bodyPartExamined?: string;
  studyDescription?: string;
  patientName?: string;
  patientId?: string;
};

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** One explicit-VR little-endian element (value padded to even length: NUL for UI, space otherwise). */
function element(group: number, elementNo: number, vr: string, value: string | Uint8Array): Uint8Array {
  let bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  if (bytes.length % 2 === 1) {
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    padded[bytes.length] = vr === 'UI' || vr === 'OB' ? 0 : 0x20;
    bytes = padded;
  }
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const header = new DataView(new ArrayBuffer(long ? 12 : 8));
  header.setUint16(0, group, true);
  header.setUint16(2, elementNo, true);
  header.setUint8(4, vr.charCodeAt(0));
  header.setUint8(5, vr.charCodeAt(1));
  if (long) header.setUint32(8, bytes.length, true);
  else header.setUint16(6, bytes.length, true);
  const out = new Uint8Array(header.byteLength + bytes.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(bytes, header.byteLength);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The bytes of a DICOM Part-10 file before its pixels: 128-byte preamble, `DICM`, File Meta Information
 * (group 0002, explicit VR little endian) and a CT Image data set, ending with the Pixel Data element header for
 * `pixelBytes` bytes of OW data. A minimal writer for tests, following PS3.10 §7 and PS3.5 §7.1.2.
 */
export function dicomHeaderBytes(attributes: TestDicomAttributes, pixelBytes: number): Uint8Array {
  const a = {
    studyInstanceUid: '1.2.826.0.1.3680043.8.498.1',
    seriesInstanceUid: '1.2.826.0.1.3680043.8.498.1.1',
    sopInstanceUid: '1.2.826.0.1.3680043.8.498.1.1.1',
    studyDate: '20240305',
    studyTime: '101500',
    modality: 'CT',
    bodyPartExamined: 'CHEST',
    studyDescription: 'CT chest without contrast',
    patientName: 'Doe^Jane',
    patientId: 'MRN-0001',
    ...attributes,
  };
  const meta = concat([
    element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    element(0x0002, 0x0002, 'UI', CT_IMAGE_STORAGE),
    element(0x0002, 0x0003, 'UI', a.sopInstanceUid),
    element(0x0002, 0x0010, 'UI', EXPLICIT_VR_LITTLE_ENDIAN),
    element(0x0002, 0x0012, 'UI', '1.2.826.0.1.3680043.8.498.0'),
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, meta.length, true);
  const pixelHeader = element(0x7fe0, 0x0010, 'OW', new Uint8Array(0)).subarray(0, 12);
  new DataView(pixelHeader.buffer, pixelHeader.byteOffset).setUint32(8, pixelBytes, true);
  return concat([
    new Uint8Array(128),
    new TextEncoder().encode('DICM'),
    element(0x0002, 0x0000, 'UL', groupLength),
    meta,
    element(0x0008, 0x0016, 'UI', CT_IMAGE_STORAGE),
    element(0x0008, 0x0018, 'UI', a.sopInstanceUid),
    element(0x0008, 0x0020, 'DA', a.studyDate),
    element(0x0008, 0x0030, 'TM', a.studyTime),
    element(0x0008, 0x0060, 'CS', a.modality),
    element(0x0008, 0x1030, 'LO', a.studyDescription),
    element(0x0010, 0x0010, 'PN', a.patientName),
    element(0x0010, 0x0020, 'LO', a.patientId),
    element(0x0018, 0x0015, 'CS', a.bodyPartExamined),
    element(0x0020, 0x000d, 'UI', a.studyInstanceUid),
    element(0x0020, 0x000e, 'UI', a.seriesInstanceUid),
    element(0x0020, 0x0011, 'IS', '1'),
    element(0x0020, 0x0013, 'IS', '1'),
    pixelHeader,
  ]);
}

/**
 * Writes a valid DICOM Part-10 file of about `pixelBytes` pixel bytes (pseudo-random, written in 1 MiB pieces:
 * memory stays small whatever the size). Returns the file's total size.
 */
export async function writeTestDicom(
  file: string,
  options: { pixelBytes: number; attributes?: TestDicomAttributes },
): Promise<number> {
  const pixelBytes = options.pixelBytes + (options.pixelBytes % 2);
  const header = dicomHeaderBytes(options.attributes ?? {}, pixelBytes);
  const handle = await open(file, 'w');
  try {
    await handle.write(header);
    const piece = new Uint8Array(1024 * 1024);
    let seed = 0x2545f491;
    for (let i = 0; i < piece.length; i++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      piece[i] = seed & 0xff;
    }
    for (let left = pixelBytes; left > 0; left -= piece.length) {
      await handle.write(piece, 0, Math.min(left, piece.length));
    }
  } finally {
    await handle.close();
  }
  return header.length + pixelBytes;
}
