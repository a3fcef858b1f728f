import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchWriter, readPieces, withFiles } from './fileIo.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'carekey-fileio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file plumbing of the Node helpers', () => {
  it('BatchWriter writes parts in order whatever their sizes and the flush points (small buffers force every path)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.boolean()), { maxLength: 40 }),
        async (plan) => {
          const target = path.join(dir, 'batch.out');
          const handle = await open(target, 'w');
          const writer = new BatchWriter(handle, 1024);
          const expected: Buffer[] = [];
          for (const [size, flush] of plan) {
            const part = randomBytes(size);
            expected.push(Buffer.from(part));
            writer.sink(part);
            if (flush) await writer.flush();
          }
          await writer.close();
          await handle.close();
          expect(readFileSync(target).equals(Buffer.concat(expected))).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('BatchWriter output equals the concatenation of fresh parts', async () => {
    const target = path.join(dir, 'batch2.out');
    const handle = await open(target, 'w');
    const writer = new BatchWriter(handle, 1000);
    const parts = [10, 990, 1, 5000, 0, 999, 1000, 1001, 3].map((n) => randomBytes(n));
    for (const [i, p] of parts.entries()) {
      writer.sink(p);
      if (i % 3 === 2) await writer.flush();
    }
    await writer.close();
    await handle.close();
    expect(readFileSync(target).equals(Buffer.concat(parts))).toBe(true);
  });

  it('readPieces reads a file whole, in pieces of the given size', async () => {
    const source = path.join(dir, 'in.bin');
    const data = randomBytes(100_003);
    writeFileSync(source, data);
    const handle = await open(source, 'r');
    const pieces: Buffer[] = [];
    for await (const piece of readPieces(handle, 4096)) pieces.push(Buffer.from(piece));
    await handle.close();
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
    expect(pieces.length).toBe(Math.ceil(data.length / 4096));
  });

  it('withFiles leaves no output and no temporary file when the work fails', async () => {
    const source = path.join(dir, 'in2.bin');
    writeFileSync(source, 'x');
    const output = path.join(dir, 'never.out');
    await expect(
      withFiles(source, output, async (_input, out) => {
        await out.write(Buffer.from('partial'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
  });
});
