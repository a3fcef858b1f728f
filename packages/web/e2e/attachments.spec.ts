import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { afterAll, describe, expect } from 'vitest';
import { carekeyInProcess } from '../../cli/test/support/carekeyInProcess.ts';
import { generateMnemonic } from '../../sdk/src/wallet/index.ts';
import { ARTEFACTS_DIR, portalTest } from './support/portalTest.ts';
import { TEST_PASSPHRASE } from './support/restoreWallet.ts';

// Large attachments in the browser (issue 6: "decryption in the browser … streamed for large files"): a PDF imported
// with the CLI (two records: the DocumentReference and the file record, docs/fhir.md §10) is listed by the portal
// without downloading the file, then saved — streamed from the blob store, decrypted chunk by chunk with
// @carekey/sdk/crypto's age STREAM reader and written as it comes: through File System Access (the save dialog is the
// one thing a headless browser cannot click, so the page's `showSaveFilePicker` hands out a file of the origin's
// private file system, a real FileSystemWritableFileStream), and as a download where the browser has no picker.
// Both files must be the PDF, byte for byte.

const SIZE = 16 * 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'carekey-web-attachments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real PDF (pdf-lib) of about `size` bytes: a title, one page, and an embedded file of random bytes. */
async function bigPdf(size: number): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle('Chest CT report');
  pdf.setCreationDate(new Date('2026-11-20T10:00:00Z'));
  pdf.addPage();
  await pdf.attach(randomBytes(size), 'images.bin', { mimeType: 'application/octet-stream' });
  return pdf.save({ useObjectStreams: false });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('large attachments', () => {
  portalTest(
    'F-11 T-13: a 16 MiB PDF imported by the CLI is listed by the portal, then saved streamed (File System Access and download), byte for byte',
    { timeout: 300_000 },
    async ({ patient, portal }) => {
      const p = patient.page;
      p.setDefaultTimeout(60_000);
      // The patient's wallet in the CLI first (same phrase as the browser's), which imports the PDF.
      const mnemonic = generateMnemonic();
      const home = join(dir, 'home');
      mkdirSync(home);
      const env = {
        CAREKEY_HOME: home,
        CAREKEY_NODE: portal.url,
        CAREKEY_MNEMONIC: mnemonic,
        CAREKEY_PASSPHRASE: TEST_PASSPHRASE,
      };
      const init = await carekeyInProcess(['init', '--restore', '--scrypt-log-n', '15', '--json'], env);
      expect(init.code, init.stderr).toBe(0);
      const pdf = await bigPdf(SIZE);
      const file = join(dir, 'ct-report.pdf');
      writeFileSync(file, pdf);
      const imported = await carekeyInProcess(['import', file, '--json'], env);
      expect(imported.code, imported.stderr).toBe(0);

      // The same wallet in the browser: the sync opens the DocumentReference and recognises the file record from its
      // first chunk (it stops reading there; before, it tried to parse the file as JSON and the whole sync failed).
      await p.getByRole('button', { name: 'Restore from recovery phrase' }).click();
      await p.getByLabel('Recovery phrase').fill(mnemonic);
      await p.getByLabel('New passphrase').fill(TEST_PASSPHRASE);
      await p.getByLabel('Repeat passphrase').fill(TEST_PASSPHRASE);
      await p.getByRole('button', { name: 'Restore wallet' }).click();
      await p.getByTestId('my-address').waitFor({ timeout: 60_000 });
      await p.getByRole('button', { name: 'Records', exact: true }).click();
      const save = p.getByRole('button', { name: /^Save the PDF \(16\.\d MB\)$/u });
      await save.waitFor({ timeout: 120_000 });
      expect(await p.getByRole('alert').count()).toBe(0);
      await patient.screenshot('attachment-listed');

      // 1. File System Access: written to the picked file as it is decrypted.
      await p.evaluate(() => {
        (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async (options: {
          suggestedName: string;
        }) => (await navigator.storage.getDirectory()).getFileHandle(options.suggestedName, { create: true });
      });
      await save.click();
      const saved = p.getByText(
        /^Saved Chest CT report\.pdf \(16\.\d MB, decrypted in this browser at [\d.]+ MB\/s\)\.$/u,
      );
      await saved.waitFor({ timeout: 180_000 });
      const picked = await p.evaluate(async () => {
        const handle = await (await navigator.storage.getDirectory()).getFileHandle('Chest CT report.pdf');
        const bytes = await (await handle.getFile()).arrayBuffer();
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        return {
          size: bytes.byteLength,
          sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
        };
      });
      expect(picked).toEqual({ size: pdf.length, sha256: sha256(pdf) });
      const pickedRate = Number(/at ([\d.]+) MB\/s/u.exec((await saved.textContent()) ?? '')?.[1]);
      await patient.screenshot('attachment-saved-picker');

      // 2. No File System Access: a download made of the decrypted chunks.
      await p.evaluate(() => {
        (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = undefined;
      });
      const downloading = p.waitForEvent('download', { timeout: 180_000 });
      await save.click();
      const download = await downloading;
      expect(download.suggestedFilename()).toBe('Chest CT report.pdf');
      const bytes = readFileSync((await download.path()) as string);
      expect(bytes.length).toBe(pdf.length);
      expect(sha256(bytes)).toBe(sha256(pdf));

      const report = { fileBytes: pdf.length, pickerMBps: pickedRate };
      console.log(`attachments: ${JSON.stringify(report)}`);
      mkdirSync(ARTEFACTS_DIR, { recursive: true });
      writeFileSync(join(ARTEFACTS_DIR, 'attachments.json'), `${JSON.stringify(report, null, 2)}\n`);
    },
  );
});
