import { createHash } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToBytes } from 'viem';
import { afterAll, describe, expect } from 'vitest';
import { portalTest } from './support/portalTest.ts';
import { restoreWallet } from './support/restoreWallet.ts';
import { startPortalNode } from './support/startPortalNode.ts';

// DICOM and PDF import in the browser (issue 6; docs/web.md "Importing a scan or a PDF"): a real NEMA CT slice and
// a PDF printed by Chromium (packages/sdk/src/fhir/testdata/files) are read, encrypted and published here, and show
// in the timeline as an imaging study (modality, date) and a document, each with its file, which is saved back
// byte for byte. Bad input first, each refused in plain words with nothing imported: non-DICOM data named .dcm, a
// corrupt PDF, a file too large (a sparse 600 MB file: never read), and the node unreachable mid-upload.

const FILES = join(import.meta.dirname, '../../sdk/src/fhir/testdata/files');
const CT = join(FILES, 'CT_small.dcm');
const PDF = join(FILES, 'discharge-letter.pdf');
const dir = mkdtempSync(join(tmpdir(), 'carekey-web-file-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const IPS_MINIMAL = join(
  import.meta.dirname,
  '../../../../shared/data/ips/Bundle-IPS-examples-Bundle-minimal.json',
);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('DICOM and PDF import in the browser', () => {
  portalTest(
    'R-14 T-19 F-9: a NEMA CT slice and a PDF are imported in the browser and shown in the timeline; misnamed, corrupt, too large and an unreachable node import nothing; each says the patient imported it',
    { timeout: 120_000 },
    async ({ patient }) => {
      const p = patient.page;
      p.setDefaultTimeout(30_000);
      await restoreWallet(p, { waitForKey: false });
      await p.getByRole('button', { name: 'Records', exact: true }).click();
      const input = p.getByLabel(/^Import a FHIR file, a DICOM image or a PDF/u);
      const alert = p.getByRole('alert');
      const records = p.getByRole('article');

      // Non-DICOM data named .dcm, and a corrupt PDF: refused from their bytes, nothing sent.
      await input.setInputFiles({
        name: 'scan.dcm',
        mimeType: 'application/dicom',
        buffer: Buffer.from('{"resourceType":"Patient"} is not a scan '.repeat(20)),
      });
      await alert
        .getByText(
          'This is not a DICOM image the portal can read: scan.dcm is not a DICOM file: no "DICM" marker at byte 128. Nothing was imported.',
        )
        .waitFor();
      await input.setInputFiles({
        name: 'letter.pdf',
        mimeType: 'application/pdf',
        buffer: Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog'),
      });
      await alert
        .getByText(/^This PDF cannot be read: malformed PDF: .+\. Nothing was imported\.$/u)
        .waitFor();

      // Too large: a sparse file of 600 MB (its size is checked before a byte of it is read).
      const huge = join(dir, 'huge.pdf');
      const fd = openSync(huge, 'w');
      ftruncateSync(fd, 600_000_000);
      closeSync(fd);
      await input.setInputFiles(huge);
      await alert
        .getByText('huge.pdf is 600.0 MB: the portal imports files up to 536.9 MB. Nothing was imported.')
        .waitFor();
      await patient.screenshot('file-import-refused');

      // The node unreachable mid-upload (the file was read and encrypted; its payload cannot go up): plain words,
      // nothing published; the retry imports it once.
      const uploads = (url: URL) => url.pathname.startsWith('/v1/blobs/');
      await p.route(uploads, (route) =>
        route.request().method() === 'PUT' ? route.abort('connectionrefused') : route.continue(),
      );
      await input.setInputFiles(CT);
      await alert.getByText(/^Your Carekey node cannot be reached/u).waitFor();
      await p.unroute(uploads);
      expect(await records.count()).toBe(0);

      // The CT slice: an imaging study with its modality and clinical date (the study's, not today), and its file.
      await input.setInputFiles(CT);
      await p.getByText('Imported 2 records from CT_small.dcm.').waitFor({ timeout: 60_000 });
      expect(await alert.count()).toBe(0);
      const study = records.filter({ hasText: 'CT scan' });
      await study.waitFor();
      expect(await records.count()).toBe(1); // the file record is the study's, not a record of its own
      await study.getByText('Imaging').first().waitFor();
      await study.getByText('19 Jan 2004').waitFor();
      await study.getByRole('button', { name: 'Save the DICOM image (39.2 kB)' }).waitFor();

      // The PDF: a document titled from the PDF itself.
      await input.setInputFiles(PDF);
      await p.getByText('Imported 2 records from discharge-letter.pdf.').waitFor({ timeout: 60_000 });
      expect(await records.count()).toBe(2);
      const letter = records.filter({ has: p.getByRole('button', { name: 'Save the PDF (28.4 kB)' }) });
      await letter.getByText('Documents').waitFor();
      // Each says who it came from: the patient imported it (its custodian, meta.source, is their DID; R-2).
      await study.getByText('Imported by you').waitFor();
      await letter.getByText('Imported by you').waitFor();
      expect(await records.filter({ hasText: 'Source not stated' }).count()).toBe(0);
      await patient.screenshot('file-import-timeline');

      // Each file comes back from the node, decrypted in the browser, byte for byte.
      await p.evaluate(() => {
        (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = undefined;
      });
      for (const [button, original] of [
        [study.getByRole('button', { name: /^Save the DICOM image/u }), CT],
        [letter.getByRole('button', { name: /^Save the PDF/u }), PDF],
      ] as const) {
        const downloading = p.waitForEvent('download');
        await button.click();
        const download = await downloading;
        const bytes = readFileSync((await download.path()) as string);
        expect(sha256(bytes)).toBe(sha256(readFileSync(original)));
      }
      writeFileSync(join(dir, 'done'), '');
    },
  );

  portalTest(
    'T-24: a node with a low rate limit refuses an import in plain words, saying when to retry; nothing is imported',
    { timeout: 180_000 },
    async ({ newUser }) => {
      // Its own node: at most 4 writes per identity a minute (CAREKEY_RATE_LIMIT_*, read when the API starts).
      const limits = { CAREKEY_RATE_LIMIT_IDENTITY: '4', CAREKEY_RATE_LIMIT_WINDOW_MS: '60000' };
      const saved = Object.fromEntries(Object.keys(limits).map((k) => [k, process.env[k]]));
      Object.assign(process.env, limits);
      const limited = await startPortalNode().finally(() => {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      });
      try {
        const user = await newUser('patient-rate-limited', { url: limited.url });
        const p = user.page;
        p.setDefaultTimeout(60_000);
        const writes: string[] = [];
        p.on('request', (r) => {
          if (r.method() !== 'GET' && new URL(r.url()).pathname.startsWith('/v1/')) writes.push(r.url());
        });
        expect(new URL(p.url()).origin).toBe(new URL(limited.url).origin);
        const me = await restoreWallet(p);
        // The first unlock's writes (publishing the key…) fit in the budget; the import's (a payload each of 8
        // records, then the publication) cannot.
        expect(writes.length).toBeLessThan(4);
        await p.getByRole('button', { name: 'Records', exact: true }).click();
        await p.getByLabel(/^Import a FHIR file, a DICOM image or a PDF/u).setInputFiles(IPS_MINIMAL);
        const words = await p
          .getByRole('alert')
          .getByText(/^Your Carekey node refused this: it had too many requests from you in a short time\./u)
          .textContent({ timeout: 120_000 });
        const seconds = Number(/Nothing was changed; try again in (\d+) seconds?\.$/u.exec(words ?? '')?.[1]);
        expect(seconds, words ?? '').toBeGreaterThanOrEqual(1);
        expect(seconds).toBeLessThanOrEqual(60);
        await user.screenshot('import-rate-limited');
        // Nothing changed: no record in the timeline, none published on the node.
        expect(await p.getByRole('article').count()).toBe(0);
        const { rows } = await limited.node.sql.query<{ n: number }>(
          'select count(*)::int as n from records where patient = $1',
          [hexToBytes(me.address)],
        );
        expect(rows[0]?.n).toBe(0);
      } finally {
        await limited.stop();
      }
    },
  );
});
