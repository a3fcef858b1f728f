import { describe, expect } from 'vitest';
import { portalTest } from './support/portalTest.ts';
import { qrGif } from './support/qrImages.ts';
import { restoreWallet } from './support/restoreWallet.ts';

// UX 7: QR and address sharing are equivalent. The clinician's portal shows their DID as a QR code; the patient's
// share form reads it from a picture (here: a screenshot of the clinician's screen, in a second browser context)
// and fills the same field a typed address would, read by the SDK's parseIdentityRef. Linux Chromium has no
// BarcodeDetector, so this is the JavaScript decoder's path (@paulmillr/qr).

describe('QR sharing', () => {
  portalTest(
    'T-7: the clinician shows their DID as a QR code; the patient reads it from a picture; bad pictures and codes are refused in plain words',
    { timeout: 240_000 },
    async ({ patient, clinician }) => {
      const p = patient.page;
      const c = clinician.page;
      p.setDefaultTimeout(60_000);
      c.setDefaultTimeout(60_000);
      const doctor = await restoreWallet(c, { waitForKey: false });
      await restoreWallet(p, { waitForKey: false });

      // The clinician's QR code, with its text alternative.
      await c.getByRole('button', { name: 'Patients (clinician)' }).click();
      const qr = c.getByRole('img', { name: /^QR code of your Carekey identity did:ethr:0x[0-9a-f]+:0x/u });
      await qr.waitFor();
      const did = (await c.getByTestId('my-did').textContent()) ?? '';
      expect(did).toMatch(new RegExp(`^did:ethr:0x[0-9a-f]+:${doctor.address}$`, 'u'));
      await clinician.screenshot('identity-qr');
      const picture = await qr.screenshot();

      // The patient reads it from a picture: the field is filled, and the sentence is the same as for a typed DID.
      await p.getByRole('button', { name: 'Sharing' }).click();
      const who = p.getByLabel("Doctor's address or DID");
      const fromPicture = p.getByLabel(/^Or read a QR code from a picture/u);
      await fromPicture.setInputFiles({ name: 'doctor-qr.png', mimeType: 'image/png', buffer: picture });
      await p.getByText(`Read from the QR code: ${doctor.address}`).waitFor();
      expect(await who.inputValue()).toBe(did);
      await p.getByRole('button', { name: 'Everything for 24 h' }).click();
      await expect
        .poll(() => p.getByTestId('share-summary').textContent())
        .toContain(`${did} will be able to open`);
      await patient.screenshot('recipient-from-qr');

      // A QR code that is not an address, one with a mistyped checksum, a picture without a code, a file that is
      // no picture: each said in plain words, and the field keeps the doctor.
      const bad = async (name: string, mimeType: string, buffer: Uint8Array, words: RegExp) => {
        await fromPicture.setInputFiles({ name, mimeType, buffer: Buffer.from(buffer) });
        await p.getByRole('alert').getByText(words).waitFor();
        expect(await who.inputValue()).toBe(did);
      };
      await bad(
        'hello.gif',
        'image/gif',
        qrGif('hello, world'),
        /^The QR code does not hold a Carekey address\. “hello, world” is not a Carekey address/u,
      );
      const digits = doctor.address.slice(2);
      const at = [...digits].findIndex((ch) => /[a-f]/iu.test(ch));
      const ch = digits[at] as string;
      const flipped = `0x${digits.slice(0, at)}${ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()}${digits.slice(at + 1)}`;
      if (
        flipped.slice(2) !== flipped.slice(2).toLowerCase() &&
        flipped.slice(2) !== flipped.slice(2).toUpperCase()
      ) {
        await bad('typo.gif', 'image/gif', qrGif(flipped), /has a typing mistake/u);
      }
      const blank = await p.getByRole('heading', { name: 'Share my records' }).screenshot();
      await bad('heading.png', 'image/png', blank, /^No QR code could be read in that picture/u);
      await bad(
        'notes.png',
        'image/png',
        new TextEncoder().encode('not a picture'),
        /^That file is not a picture/u,
      );
      await patient.screenshot('bad-qr-refused');

      // No camera in this browser: said in plain words, nothing filled in.
      await p.getByRole('button', { name: 'Scan a QR code with the camera' }).click();
      await p
        .getByRole('alert')
        .getByText(/camera/u)
        .waitFor();
      expect(await who.inputValue()).toBe(did);
      // Nothing of this went anywhere: the page asked no other origin (the harness also fails on CSP violations).
    },
  );
});
