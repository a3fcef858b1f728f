import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { describe, expect } from 'vitest';
import { generateMnemonic, newWalletSecrets, walletKeys } from '../../sdk/src/wallet/index.ts';
import { launchChromium } from './support/chromium.ts';
import { portalTest } from './support/portalTest.ts';
import { writeQrY4m } from './support/qrImages.ts';
import { restoreWallet } from './support/restoreWallet.ts';

// The camera path of the share form: Chromium's fake camera plays a video of a clinician's QR code (a Y4M file
// written here), the portal reads it from the video frames and fills the recipient.

const doctor = walletKeys(newWalletSecrets({ mnemonic: generateMnemonic() }));
const DID = `did:ethr:0x7a69:${doctor.address}`;
const dir = mkdtempSync(join(tmpdir(), 'carekey-qr-camera-'));
const video = join(dir, 'doctor-qr.y4m');
writeQrY4m(video, DID);

const cameraTest = portalTest.extend<{ browser: Browser }>({
  browser: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixture's dependencies from this pattern.
    async ({}, use) => {
      const browser = await launchChromium({
        args: [
          '--use-fake-ui-for-media-stream',
          '--use-fake-device-for-media-stream',
          `--use-file-for-fake-video-capture=${video}`,
        ],
      });
      try {
        await use(browser);
      } finally {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    { scope: 'file' },
  ],
});

describe('QR sharing with the camera', () => {
  cameraTest(
    'the patient scans the clinician’s QR code with the camera',
    { timeout: 180_000 },
    async ({ patient }) => {
      const p = patient.page;
      p.setDefaultTimeout(60_000);
      await patient.context.grantPermissions(['camera']);
      await restoreWallet(p, { waitForKey: false });
      await p.getByRole('button', { name: 'Sharing' }).click();
      await p.getByRole('button', { name: 'Scan a QR code with the camera' }).click();
      await p
        .getByText(`Read from the QR code: ${doctor.address}`)
        .waitFor({ timeout: 60_000 })
        .catch((error: unknown) => {
          // Say what the page reported (a chunk that did not load, an exception), not only that it timed out.
          throw new Error(`${String(error)}\npage errors: ${JSON.stringify(patient.errors)}`);
        });
      expect(await p.getByLabel("Doctor's address or DID").inputValue()).toBe(DID);
      // The camera is released once the code is read.
      await p.getByRole('button', { name: 'Scan a QR code with the camera' }).waitFor();
      expect(
        await p.evaluate(() => (document.querySelector('video') as HTMLVideoElement).srcObject),
      ).toBeNull();
      await patient.screenshot('scanned-with-camera');
    },
  );
});
