import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '@carekey/sdk/fhir';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryNdjsonLine, readBinaryNdjson } from './binaryNdjson.ts';

const root = mkdtempSync(join(tmpdir(), 'carekey-binary-ndjson-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => mkdtempSync(join(root, 'w-'));
const ID = (c: string) => c.repeat(64);

async function lineOf(id: string, contentType: string, bytes: Uint8Array, pieceSize: number) {
  async function* pieces() {
    for (let i = 0; i < bytes.length; i += pieceSize) yield bytes.subarray(i, i + pieceSize);
  }
  let text = '';
  for await (const part of binaryNdjsonLine({ id, contentType, pieces: pieces() })) text += part;
  return text;
}

describe('Binary.ndjson: files in a Bulk export, streamed both ways', () => {
  it('R-15: a line is the canonical JSON of the Binary, and reads back to the same bytes however it is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 50 }),
        async (bytes, pieceSize, readSize) => {
          const line = await lineOf(ID('a'), 'application/dicom', bytes, pieceSize);
          const binary = {
            resourceType: 'Binary',
            id: ID('a'),
            contentType: 'application/dicom',
            data: Buffer.from(bytes).toString('base64'),
          };
          expect(line).toBe(`${canonicalJson(binary)}\n`);
          const dir = fresh();
          const input = join(dir, 'Binary.ndjson');
          const other = `{"resourceType":"Binary","id":"x1","contentType":"text/plain","data":"aGk="}`;
          writeFileSync(input, `${line}\n${other}\n${await lineOf(ID('b'), 'application/pdf', bytes, 3)}`);
          const read = await readBinaryNdjson({ input, dir, readSize });
          expect(read.json).toEqual([{ line: 3, text: other }]);
          expect(read.files.map((f) => [f.id, f.contentType, f.line, f.size])).toEqual([
            [ID('a'), 'application/dicom', 1, bytes.length],
            [ID('b'), 'application/pdf', 4, bytes.length],
          ]);
          for (const f of read.files)
            expect(Buffer.compare(readFileSync(f.file), Buffer.from(bytes))).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a Binary with more elements (meta) comes back as its JSON text, rebuilt whole', async () => {
    const dir = fresh();
    const input = join(dir, 'Binary.ndjson');
    const binary = {
      resourceType: 'Binary',
      id: 'note-1',
      contentType: 'text/plain',
      data: Buffer.from('a note').toString('base64'),
      meta: { source: 'did:ethr:0x7a69:0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    };
    writeFileSync(input, `${canonicalJson(binary)}\n`);
    const read = await readBinaryNdjson({ input, dir, readSize: 5 });
    expect(read.files).toEqual([]);
    expect(read.json.map((j) => JSON.parse(j.text))).toEqual([binary]);
  });

  it.each([
    [
      'data that is not base64',
      `{"contentType":"application/pdf","data":"ab!d","id":"${ID('c')}","resourceType":"Binary"}\n`,
      /line 1: its data is not base64/u,
    ],
    [
      'padding in the middle',
      `{"contentType":"application/pdf","data":"ab==abcd","id":"${ID('c')}","resourceType":"Binary"}\n`,
      /line 1: its data is not base64/u,
    ],
    ['a line cut short', `{"contentType":"application/pdf","data":"abcd`, /line 1: the line is cut short/u],
    [
      'a contentType that is not a MIME type',
      `{"contentType":"<script>","data":"abcd","id":"${ID('c')}","resourceType":"Binary"}\n`,
      /line 1: its contentType is not a MIME type/u,
    ],
    [
      'the same file twice',
      `{"contentType":"application/pdf","data":"abcd","id":"${ID('c')}","resourceType":"Binary"}\n`.repeat(2),
      /line 2: Binary\/c{64} appears twice/u,
    ],
  ])('T-19 refuses %s, naming the line', async (_what, text, message) => {
    const dir = fresh();
    const input = join(dir, 'Binary.ndjson');
    writeFileSync(input, text);
    await expect(readBinaryNdjson({ input, dir, readSize: 7 })).rejects.toThrow(message);
  });
});
